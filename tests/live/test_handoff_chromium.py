"""The handoff HTML as a person sees it: rendered by headless Chromium (Debian
`chromium`), screenshot checked to be a real page, not blank."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from live.conftest import require_tool     # tests/ is on sys.path; live/ is a namespace package

REPO = Path(__file__).resolve().parents[2]


def test_handoff_renders_in_chromium(tmp_path):
    chromium = require_tool("chromium", "run scripts/install-deps.sh (scripts/deps/55-chromium.sh)")
    from PIL import Image
    import sys
    sys.path.insert(0, str(REPO / "tests"))
    from test_handoff import terraform_outputs
    from compiler.pipeline import plan_repo

    plan = plan_repo(REPO)
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    terraform_outputs(plan, "helios-energy", outputs)
    page = tmp_path / "handoff.html"
    done = subprocess.run([sys.executable, "-m", "compiler.cli", "--root", str(REPO), "handoff", "helios-energy",
                           "--html", "--outputs", str(outputs), "--out", str(page)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    shot = tmp_path / "handoff.png"
    with tempfile.TemporaryDirectory(prefix="onboarding-chromium-") as profile:
        run = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1000,1400",
                              page.as_uri()], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 1400)
    colors = image.getcolors(maxcolors=1 << 20)
    dark = sum(n for n, (r, g, b) in colors if r + g + b < 200)          # text pixels
    accent = sum(n for n, (r, g, b) in colors if g > r + 40 and g > b)   # the green heading rule/titles
    print(f"screenshot {shot.stat().st_size} bytes, {len(colors)} colours, {dark} dark px, {accent} accent px")
    assert len(colors) > 50 and dark > 5000 and accent > 500
