"""What the customer reads, as a person sees it: the handoff HTML (a Gold and the
white-label Platinum customer) and the welcome email's HTML part, rendered by
headless Chromium (Debian `chromium`). Each screenshot must be a real page, not
blank; the text it shows is checked for the issue-27 promises (the customer's own
resources, autoscaling range, no operator name for white-label, a live assistant).
Screenshots stay in test-artifacts/customer-docs/."""
from __future__ import annotations

import email
import email.policy
import html as html_lib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from live.conftest import require_tool     # tests/ is on sys.path; live/ is a namespace package

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "customer-docs"


def clawtex(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler.cli", "--root", str(REPO), *args],
                          capture_output=True, text=True)


def shoot(chromium: str, page: Path, shot: Path, size: tuple[int, int]):
    """One headless Chromium screenshot of a local page; returns the image's colour histogram."""
    from PIL import Image
    with tempfile.TemporaryDirectory(prefix="onboarding-chromium-") as profile:
        run = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              f"--user-data-dir={profile}", f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}",
                              "--hide-scrollbars", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == size
    return image.getcolors(maxcolors=1 << 20)


def visible_text(page: str) -> str:
    body = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def apply_outputs(tmp_path: Path, cid: str) -> Path:
    """The apply job's `terraform output -json` per stack (stand-ins: tests/test_handoff.py)."""
    sys.path.insert(0, str(REPO / "tests"))
    from test_handoff import terraform_outputs
    from compiler.pipeline import plan_repo
    outputs = tmp_path / "outputs"
    outputs.mkdir(exist_ok=True)
    terraform_outputs(plan_repo(REPO), cid, outputs)
    return outputs


def handoff_page(tmp_path: Path, cid: str) -> Path:
    outputs = apply_outputs(tmp_path, cid)
    page = tmp_path / f"handoff-{cid}.html"
    done = clawtex("handoff", cid, "--html", "--outputs", str(outputs), "--out", str(page))
    assert done.returncode == 0, done.stderr
    return page


@pytest.mark.parametrize("cid", ["helios-energy", "orbital-health"])
def test_handoff_renders_in_chromium(tmp_path, cid):
    chromium = require_tool("chromium", "run scripts/install-deps.sh (scripts/deps/55-chromium.sh)")
    page = handoff_page(tmp_path, cid)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"handoff-{cid}.png"
    colors = shoot(chromium, page, shot, (1000, 1800))
    dark = sum(n for n, (r, g, b) in colors if r + g + b < 200)          # text pixels
    accent = sum(n for n, (r, g, b) in colors if g > r + 40 and g > b)   # green headings (Clawtex; Orbital's #0B6E4F)
    print(f"{shot.name}: {shot.stat().st_size} bytes, {len(colors)} colours, {dark} dark px, {accent} accent px")
    assert len(colors) > 50 and dark > 5000 and accent > 500
    text = visible_text(page.read_text())
    if cid == "orbital-health":        # Platinum, white-label (customers/orbital-health.yaml, tiers/platinum.yaml)
        assert "clawtex" not in text.lower()
        assert re.search(r"scale automatically between 3 and 6", text), text
        assert "care-assistant.orbital-health.example" in text


def test_welcome_email_renders_in_chromium(tmp_path):
    """The Platinum welcome email's HTML part as the customer's mail client would show it,
    built after apply (its outputs give every address) as the onboarding workflow does."""
    chromium = require_tool("chromium", "run scripts/install-deps.sh (scripts/deps/55-chromium.sh)")
    eml = tmp_path / "welcome.eml"
    done = clawtex("welcome", "orbital-health", "--outputs", str(apply_outputs(tmp_path, "orbital-health")),
                   "--out", str(eml))
    assert done.returncode == 0, done.stderr
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    html = msg.get_body(("html",)).get_content()
    page = tmp_path / "welcome.html"
    page.write_text(html)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "welcome-orbital-health.png"
    colors = shoot(chromium, page, shot, (900, 1200))
    dark = sum(n for n, (r, g, b) in colors if r + g + b < 200)
    print(f"{shot.name}: {shot.stat().st_size} bytes, {len(colors)} colours, {dark} dark px")
    assert len(colors) > 20 and dark > 2000
    text = visible_text(html)
    assert "clawtex" not in (text + str(msg["Subject"]) + str(msg["From"])).lower()
    assert "live" in str(msg["Subject"]).lower() and " is live" in text
    assert "secure link" not in text          # issue 27: no link that does not exist
    # Platinum's custom domain is delegated to DigitalOcean's DNS (issue 25: the certificate on the
    # global load balancer needs it), so the customer creates NS records, not a CNAME.
    assert "pending" not in text
    for n in (1, 2, 3):
        assert f"care-assistant.orbital-health.example NS ns{n}.digitalocean.com." in text, text
