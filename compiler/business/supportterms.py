"""A tier's support terms in words a customer reads: first response time,
staffed hours, and how to reach us on each channel. One function, used by the
handoff document, the welcome email and `clawtex report`, so they cannot
disagree. The numbers come from tiers/*.yaml spec.support; the addresses from
clawtex.yaml spec.support."""
from __future__ import annotations

from dataclasses import dataclass

from ..models import Coverage, SupportSettings, Tier

DAY_NAMES = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"}
ORDER = list(DAY_NAMES)


@dataclass(frozen=True)
class SupportTerms:
    first_response_hours: int
    hours: str
    holidays: str
    channels: tuple[tuple[str, str], ...]       # (channel, how to reach it)


def _days(days: list[str]) -> str:
    idx = sorted(ORDER.index(d) for d in days)
    if idx == list(range(7)):
        return "every day"
    runs, start = [], idx[0]
    for prev, cur in zip(idx, idx[1:] + [None]):
        if cur != prev + 1:
            runs.append(DAY_NAMES[ORDER[start]] if start == prev else f"{DAY_NAMES[ORDER[start]]}–{DAY_NAMES[ORDER[prev]]}")
            start = cur
    return ", ".join(runs)


def coverage_text(coverage: Coverage) -> str:
    parts = []
    for w in coverage.windows:
        span = "around the clock" if (w.start, w.end) == ("00:00", "24:00") else f"{w.start}–{w.end}"
        parts.append(f"{_days(list(w.days))} {span}")
    return f"{'; '.join(parts)} ({coverage.time_zone} time)"


VENDOR = "Clawtex"


@dataclass(frozen=True)
class Brand:
    """Who the customer deals with: us, or (white-label) the unbranded team of clawtex.yaml
    spec.support.whiteLabel. Names, addresses and the dashboard host a customer sees."""
    name: str
    email: str
    sender: str
    channel_prefix: str
    monitoring_url: str | None
    white_label: bool


def brand(settings, white_label: bool) -> Brand:
    """settings: clawtex.yaml spec (SettingsSpec)."""
    support = settings.support
    if white_label:
        wl = support.white_label if support else None
        if wl is None:
            raise ValueError("a white-label customer needs clawtex.yaml spec.support.whiteLabel")
        return Brand(wl.team_name, wl.email, wl.sender, wl.dedicated_channel_prefix, wl.monitoring_url, True)
    sender = support.smtp.sender if support and support.smtp else ""
    return Brand(VENDOR, support.email if support else "", sender,
                 support.dedicated_channel_prefix if support else "", settings.ops.monitoring_url, False)


def support_terms(tier: Tier, settings: SupportSettings | None, customer_id: str,
                  white_label: bool = False) -> SupportTerms:
    s = tier.spec.support
    if settings is None:
        raise ValueError("clawtex.yaml has no spec.support (support contacts)")
    wl = settings.white_label if white_label else None
    if white_label and wl is None:
        raise ValueError("a white-label customer needs clawtex.yaml spec.support.whiteLabel")
    channel = f"#{(wl.dedicated_channel_prefix if wl else settings.dedicated_channel_prefix)}{customer_id}"
    how = []
    for ch in s.channels:
        if ch.type == "email":
            text = wl.email if wl else settings.email
        elif ch.type == "discord":
            invite = "invitation by email" if wl else settings.discord_invite     # our server's invite names us
            text = (f"your private channel {channel} on our Discord ({invite})" if ch.dedicated
                    else f"our Discord server, {invite}")
        elif ch.type == "slack":
            text = f"shared Slack channel {channel} (Slack Connect invitation to your primary contact)"
        elif ch.type == "phone":
            text = f"on-call engineer, {settings.phone}" if settings.phone else "on-call engineer (number in your contract)"
        else:
            text = "your dedicated account manager (introduced by email)"
        how.append((ch.type.replace("-", " "), text + (" (priority queue)" if ch.priority and ch.type != "phone" else "")))
    holidays = (f"not staffed on public holidays in {_region(settings.holidays)}: " + ", ".join(day.isoformat() for day, _ in settings.holidays.days())
                if s.coverage.observes_holidays and settings.holidays else "staffed on public holidays too")
    return SupportTerms(s.first_response_hours, coverage_text(s.coverage), holidays, tuple(how))


def _region(calendar) -> str:
    """The calendar's country (and subdivision) by name, as the holidays library names them."""
    import holidays
    country = holidays.country_holidays(calendar.country)
    name = type(country).__mro__[1].__name__            # holidays.countries.germany.DE -> Germany
    subdivision = {code: sub for sub, code in country.subdivisions_aliases.items()}.get(calendar.subdivision)
    return f"{subdivision}, {name}" if calendar.subdivision else name


def render_tier_table(tiers: list[Tier], settings: SupportSettings | None) -> str:
    """`clawtex report --support`: what each tier promises, in the customer's words."""
    lines = ["Support terms per tier", f"{'tier':<10} {'first response':>14}  {'hours':<48} channels"]
    for tier in tiers:
        terms = support_terms(tier, settings, "<customer>")
        channels = ", ".join(name + (" (dedicated)" if ch.dedicated else "") + (" (priority)" if ch.priority else "")
                             for (name, _), ch in zip(terms.channels, tier.spec.support.channels))
        lines.append(f"{tier.name:<10} {terms.first_response_hours:>12} h  {terms.hours:<48} {channels}")
    return "\n".join(lines) + "\n"
