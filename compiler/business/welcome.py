"""`clawtex welcome <id>`: the welcome email with the onboarding guide, sent by
SMTP once the apply job's smoke test passed for a new customer.

The guide is per tier and per customer: how to connect each channel, support
hours and contacts (supportterms, the same words as the handoff), the
dashboard link where the tier has one, and the handoff document attached (HTML
and Markdown). The relay is clawtex.yaml spec.support.smtp; its password is a
SecretRef (env or file) resolved at send time, never stored in the repo.
"""
from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

from ..models import SecretRef, SmtpSettings
from ..plan import FleetPlan
from .handoff import _environment, context, render_handoff

# How a customer starts using each channel. The email is sent once the assistant is
# live: the smoke test passed readiness, which fails while a configured channel is not
# running (clawtex.yaml openclaw.readyPath), so every channel's credentials are already
# in place and nothing is left to send us. Each step is a plain instruction. The exception
# is a WhatsApp/Signal channel the customer file marks `linked: false`: the smoke test
# accepts it loaded but not connected, and the email gives the link step instead
# (handoff.LINK_STEPS).
CONNECT = {
    "telegram": "Open your bot in Telegram (search for its @name) and send it a message.",
    "discord": "Send the bot a direct message, or mention it (@name) in a channel of your server.",
    "whatsapp": "Send a WhatsApp message to the number the assistant uses.",
    "signal": "Send a Signal message to the number the assistant uses.",
    "slack": "Invite the bot to a channel (type /invite @name there) or send it a direct message.",
    "msteams": "Find the bot in Microsoft Teams (Apps, then your organisation's apps) and send it a message.",
}


class WelcomeError(RuntimeError):
    """The email cannot be built or sent."""


def resolve_secret(ref: SecretRef, root: Path) -> str:
    if ref.source == "env":
        value = os.environ.get(ref.id)
        if not value:
            raise WelcomeError(f"SMTP password: environment variable {ref.id} is not set")
        return value
    if ref.source == "file":
        path = Path(ref.id) if Path(ref.id).is_absolute() else root / ".secrets" / ref.id
        if not path.exists():
            raise WelcomeError(f"SMTP password: file {path} does not exist")
        return path.read_text(encoding="utf-8").strip()
    raise WelcomeError(f"SMTP password: source {ref.source!r} cannot be read here (use env or file)")


def build_message(plan: FleetPlan, customer_id: str, outputs: dict[str, dict] | None = None,
                  live: bool = False) -> EmailMessage:
    """The welcome email. `live` (what `clawtex welcome --send` asks for): the email says the
    assistant is live, so every address it shows must come from the apply's outputs; a host or
    DNS target still pending refuses the message instead of sending a half-filled one."""
    ctx = context(plan, customer_id, outputs)
    c = ctx["c"]
    if live and ctx["pending"]:
        raise WelcomeError(f"not sent: {', '.join(ctx['pending'])} still 'pending' - the email says the assistant "
                           f"is live, so it needs the apply's outputs (--outputs DIR, terraform output -json "
                           f"per stack)")
    smtp = plan.settings.spec.support.smtp if plan.settings.spec.support else None
    if smtp is None:
        raise WelcomeError("clawtex.yaml has no spec.support.smtp")
    to_link = dict(ctx["to_link"])
    ctx["connect"] = [(ch.type, to_link.get(ch.type, CONNECT[ch.type])) for ch in c.channels]
    ctx["dashboard"] = next((url for name, url in ctx["links"] if name == "Dashboard"), None)
    b = ctx["brand"]
    # White-label: the customer's assistant by its brand, from and answered by the unbranded team.
    ctx["assistant"] = (c.branding.assistant_name if c.branding else "assistant") if b.white_label \
        else f"{b.name} assistant"
    env = _environment()
    msg = EmailMessage()
    msg["Subject"] = (f"Welcome, {c.display_name}: {ctx['assistant']} is live" if b.white_label
                      else f"Welcome to {b.name}, {c.display_name}: your assistant is live")
    msg["From"] = formataddr((b.name, b.sender))
    msg["To"] = ", ".join(formataddr((contact.name, contact.email)) for contact in c.contacts)
    msg["Reply-To"] = b.email
    msg["Message-ID"] = make_msgid(domain=b.sender.split("@")[1])
    msg.set_content(env.get_template("welcome.txt.j2").render(**ctx))
    msg.add_alternative(env.get_template("welcome.html.j2").render(**ctx), subtype="html")
    msg.add_attachment(render_handoff(plan, customer_id, html=True, outputs=outputs).encode("utf-8"),
                       maintype="text", subtype="html", filename=f"handoff-{c.id}.html")
    msg.add_attachment(render_handoff(plan, customer_id, outputs=outputs).encode("utf-8"),
                       maintype="text", subtype="markdown", filename=f"handoff-{c.id}.md")
    return msg


def send(msg: EmailMessage, smtp: SmtpSettings, root: Path, timeout: float = 30) -> None:
    password = resolve_secret(smtp.password_ref, root) if smtp.password_ref else None
    try:
        if smtp.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            client.ehlo()
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if smtp.username and password:
                client.login(smtp.username, password)
            refused = client.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise WelcomeError(f"SMTP {smtp.host}:{smtp.port}: {exc}") from exc
    if refused:
        raise WelcomeError(f"SMTP refused recipients: {refused}")
