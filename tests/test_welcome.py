"""The welcome email, delivered to a real SMTP server (aiosmtpd on 127.0.0.1)
through `clawtex welcome --send`, with the password read from its reference."""
from __future__ import annotations

import email
import email.policy
import os
import re
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from conftest import run_clawtex
from compiler.pipeline import plan_repo
from test_handoff import terraform_outputs

PASSWORD = "s3cret-relay-password"
# Loopback test relay without TLS: aiosmtpd warns about AUTH over plain text, which is the point here.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class Inbox:
    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"


def _auth(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"welcome@clawtex.example" and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=_auth, auth_required=True,
                            auth_require_tls=False)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def _outputs(repo, cid: str) -> tuple[list[str], dict[str, str]]:
    """`--outputs DIR` with the apply's outputs for `cid` (tests/test_handoff.py's stand-ins),
    and the values written there."""
    directory = repo / "outputs"
    directory.mkdir(exist_ok=True)
    values = terraform_outputs(plan_repo(repo), cid, directory)
    return ["--outputs", str(directory)], values


def _point_at(repo, port: int) -> None:
    path = repo / "clawtex.yaml"
    text = path.read_text()
    text = text.replace("host: smtp.clawtex.example\n      port: 587\n      security: starttls",
                        f"host: 127.0.0.1\n      port: {port}\n      security: none")
    assert f"port: {port}" in text
    path.write_text(text)


@pytest.mark.parametrize("cid, tier, connect, dashboard", [
    ("pixel-bakery", "Bronze", ["telegram"], False),
    ("helios-energy", "Gold", ["whatsapp", "discord", "slack"], True),
])
def test_welcome_is_delivered_with_the_tier_guide(repo, smtp_server, cid, tier, connect, dashboard):
    port, inbox = smtp_server
    _point_at(repo, port)
    env = dict(os.environ, CLAWTEX_SMTP_PASSWORD=PASSWORD)
    outputs, addresses = _outputs(repo, cid)
    out = run_clawtex(repo, "welcome", cid, *outputs, "--send", env=env)
    assert out.returncode == 0, out.stderr
    (mail_from, rcpts, raw), = inbox.messages
    assert mail_from == "welcome@clawtex.example"
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    customer = (repo / "customers" / f"{cid}.yaml").read_text()
    contacts = re.findall(r"email: ([^,}\s]+)", customer)
    assert sorted(rcpts) == sorted(contacts)
    assert msg["Subject"].startswith("Welcome to Clawtex") and msg["Reply-To"] == "support@clawtex.example"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert f"({tier} tier)" in text
    for channel in connect:
        assert f"- {channel}: " in text and f"<strong>{channel}</strong>" in html
    hours = {"Bronze": "Mon–Fri 09:00–18:00", "Gold": "Mon–Fri around the clock"}[tier]
    assert f"Support hours: {hours} (Europe/Berlin time)" in text and hours in html
    assert (f"Your dashboard: https://grafana.clawtex.example/d/{cid}\r\n" in text) is dashboard
    names = sorted(part.get_filename() for part in msg.iter_attachments())
    assert names == [f"handoff-{cid}.html", f"handoff-{cid}.md"]
    assert PASSWORD not in raw.decode("utf-8", "replace")
    assert "pending" not in raw.decode("utf-8", "replace").lower()
    handoff = next(p for p in msg.iter_attachments() if p.get_filename().endswith(".md")).get_content()
    assert any(address in handoff for address in addresses.values())


def test_welcome_without_the_apply_outputs_is_not_sent(repo, smtp_server):
    """The email says the assistant is live: with its addresses still pending it is refused."""
    port, inbox = smtp_server
    _point_at(repo, port)
    out = run_clawtex(repo, "welcome", "pixel-bakery", "--send", env=dict(os.environ, CLAWTEX_SMTP_PASSWORD=PASSWORD))
    assert out.returncode == 1 and "not sent" in out.stderr and "--outputs" in out.stderr, out.stderr
    assert inbox.messages == []
    preview = run_clawtex(repo, "welcome", "pixel-bakery", "--out", str(repo / "preview.eml"))
    assert preview.returncode == 0 and "not sent (no --send)" in preview.stdout    # a preview is still allowed


def test_missing_password_reference_fails_clearly(repo, smtp_server):
    port, inbox = smtp_server
    _point_at(repo, port)
    env = {k: v for k, v in os.environ.items() if k != "CLAWTEX_SMTP_PASSWORD"}
    out = run_clawtex(repo, "welcome", "pixel-bakery", *_outputs(repo, "pixel-bakery")[0], "--send", env=env)
    assert out.returncode == 1 and "CLAWTEX_SMTP_PASSWORD is not set" in out.stderr
    assert inbox.messages == []


def test_wrong_password_is_refused_by_the_server(repo, smtp_server):
    port, inbox = smtp_server
    _point_at(repo, port)
    out = run_clawtex(repo, "welcome", "pixel-bakery", *_outputs(repo, "pixel-bakery")[0], "--send",
                      env=dict(os.environ, CLAWTEX_SMTP_PASSWORD="nope"))
    assert out.returncode == 1 and "SMTP 127.0.0.1" in out.stderr
    assert inbox.messages == []
