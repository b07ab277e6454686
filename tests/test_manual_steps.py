"""Issue 25 "Bad input": a customer setting that needs a manual step to apply is a compile
error naming the step. Here: channels whose account is linked by hand on the gateway host
after the gateway runs (OpenClaw docs channels/whatsapp.md: a QR code scanned with
`openclaw channels login --channel whatsapp`; channels/signal.md: signal-cli on the host,
then `signal-cli link` + QR or SMS registration with a captcha; docs.openclaw.ai, read
2026-12-04). The custom-domain steps are in tests/test_custom_domain_tls.py.

Expected texts and lines are written here by hand from customers/*.yaml."""
from __future__ import annotations

import pytest

from conftest import run_clawtex


def _drop_linked(path, channel: str) -> tuple[str, int]:
    """Remove `linked:` under the file's `- type: <channel>` entry; return the text and that entry's line."""
    lines = path.read_text().splitlines(keepends=True)
    line = next(i for i, l in enumerate(lines, 1) if l.strip() == f"- type: {channel}")
    assert lines[line].strip() == "linked: false", lines[line]
    del lines[line]
    path.write_text("".join(lines))
    return path.read_text(), line


@pytest.mark.parametrize("customer, channel, index, step", [
    ("mapleleaf-dental", "whatsapp", 1, ("openclaw channels login --channel whatsapp", "QR code")),
    ("corner-garage", "signal", 0, ("signal-cli", "+447700900123", "no role installs it")),
])
def test_a_channel_without_linked_names_its_manual_step_at_its_line(repo, customer, channel, index, step):
    path = repo / "customers" / f"{customer}.yaml"
    _, line = _drop_linked(path, channel)
    result = run_clawtex(repo, "validate", str(path))
    assert result.returncode == 1, result.stdout
    err = result.stderr
    assert f"customers/{customer}.yaml:{line}:" in err and f"spec.channels[{index}].type: manual step:" in err, err
    assert all(s in err for s in step) and "linked: false" in err and "linked: true" in err, err


def test_a_suspended_customer_needs_no_link(repo):
    path = repo / "customers" / "mapleleaf-dental.yaml"
    text, _ = _drop_linked(path, "whatsapp")
    assert "\n  status:" not in text
    path.write_text(text.replace("  tier: ", "  status: suspended\n  tier: ", 1))
    result = run_clawtex(repo, "validate", str(path))
    assert "manual step" not in result.stderr, result.stderr


def test_linked_on_a_channel_without_a_manual_link_is_refused(repo):
    path = repo / "customers" / "mapleleaf-dental.yaml"
    text = path.read_text()
    assert "    - type: telegram\n" in text
    path.write_text(text.replace("    - type: telegram\n", "    - type: telegram\n      linked: true\n", 1))
    result = run_clawtex(repo, "validate", str(path))
    assert result.returncode == 1
    assert "telegram channel does not take 'linked'" in result.stdout + result.stderr, result.stderr


def test_onboarding_writes_a_new_whatsapp_or_signal_channel_as_not_linked_yet():
    """A customer onboarded from checkout has never run a gateway, so nothing is linked: its
    first apply must take the channel unlinked, and validate must accept the file as written."""
    from compiler.business.onboard import channel_entry
    assert channel_entry("new-co", "whatsapp", {})["linked"] is False
    assert "linked" not in channel_entry("new-co", "telegram", {})
