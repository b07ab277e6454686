"""Install steps never hang (issue 28 item 5): every download in scripts/deps/*.sh is bounded in
time and retried, and a step that gives up says which package and why.

The grep is deliberately wide: any line of an install step (or of the Python helpers the steps
call to download) that runs curl, wget, pip, npm, apt-get or mmdebstrap must run it under
lib.sh's `bounded NAME SECONDS TRIES` (or, inside Python, a subprocess timeout and a retry),
unless the line says `unbounded-ok:` with the reason. `bounded` itself is run here with a command
that stalls and one that fails: the expected messages are written by hand."""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from conftest import REPO

DEPS = REPO / "scripts" / "deps"
DOWNLOADERS = re.compile(r"(?<![\w.-])(curl|wget|pip3?|npm|npx|apt-get|apt|mmdebstrap)(?![\w.-])")
# Lines that name a downloader but run none (comments, messages, settings; `apt_install PKG...` is
# lib.sh's function, whose own apt-get lines are checked).
NOT_A_RUN = re.compile(r"""^\s*(#|echo\b|apt_install\s)|NPM_FLAGS=|APT_OPTS=|apt_install\(\)|--fetch-|dpkg-query""")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Shell lines with backslash continuations joined, comments dropped, with their first line number."""
    out, buf, start = [], "", 0
    for n, line in enumerate(text.splitlines(), 1):
        if not buf:
            start = n
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        out.append((start, buf + stripped))
        buf = ""
    return out


def download_runs(path: Path) -> list[tuple[int, str]]:
    runs = []
    in_heredoc = None
    for n, line in logical_lines(path.read_text()):
        if in_heredoc:
            if line.strip() == in_heredoc:
                in_heredoc = None
            continue
        heredoc = re.search(r"<<-?\s*'?(\w+)'?", line)
        code = line.split(" #", 1)[0]
        if DOWNLOADERS.search(code) and not NOT_A_RUN.search(code):
            runs.append((n, line))
        if heredoc:
            in_heredoc = heredoc.group(1)
    return runs


def test_the_grep_finds_what_it_must():
    """The check below cannot pass by seeing nothing: it finds the downloads each step is known to make."""
    found = {p.name: [l for _, l in download_runs(p)] for p in sorted(DEPS.glob("*.sh"))}
    joined = {k: "\n".join(v) for k, v in found.items()}
    assert "npm install" in joined["40-openclaw.sh"]
    assert "pip install" in joined["20-python.sh"] and "pip install" in joined["30-checkov.sh"]
    assert "pip install" in joined["60-backups.sh"]
    assert "apt-get" in joined["lib.sh"]
    assert "mmdebstrap" in joined["50-hosts.sh"] and "tests.live.hosts build" in joined["50-hosts.sh"]
    assert sum(len(v) for v in found.values()) >= 8, found


def test_every_download_in_the_install_steps_is_bounded_and_retried():
    unbounded = []
    for path in sorted(DEPS.glob("*.sh")):
        for n, line in download_runs(path):
            if "unbounded-ok:" in line:
                continue
            m = re.search(r"\bbounded\s+(\"[^\"]+\"|\S+)\s+(\d+)\s+(\d+)\s", line)
            if not m or int(m.group(3)) < 2:
                unbounded.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert not unbounded, "downloads not under `bounded NAME SECONDS TRIES>=2`:\n" + "\n".join(unbounded)
    # the only unbounded apt-get is the unpack of what the bounded --download-only fetched
    lib = (DEPS / "lib.sh").read_text()
    ok = [l for _, l in logical_lines(lib) if "unbounded-ok:" in l]
    assert len(ok) == 1 and "--download-only" in lib


def test_the_steps_that_download_through_python_are_bounded():
    """50-hosts builds the Debian root through tests/live/hosts.py (mmdebstrap + pip inside it), and
    45-openclaw-plugins installs plugins through tests/live/gateway.py: both bound and retry there too."""
    hosts_step = (DEPS / "50-hosts.sh").read_text()
    assert re.search(r'bounded "[^"]*mmdebstrap[^"]*" \d+ [2-9] \\\n\s+python3 -m tests.live.hosts build', hosts_step)
    hosts = (REPO / "tests" / "live" / "hosts.py").read_text()
    assert "--aptopt=" in hosts and 'Acquire::Retries "3"' in hosts and 'Acquire::http::Timeout "60"' in hosts
    assert "timeout=BUILD_TIMEOUT" in hosts
    assert re.search(r"pip install [^'\"]*--timeout 60 --retries 5 ansible-core", hosts)
    plugins_step = (DEPS / "45-openclaw-plugins.sh").read_text()
    assert "preinstall_plugins" in plugins_step
    gateway = (REPO / "tests" / "live" / "gateway.py").read_text()
    assert "for try in 1 2 3; do timeout --kill-after=30 600" in gateway
    assert "giving up on @openclaw/" in gateway


def _bounded(cmd: str, limit: int, tries: int) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f'source "{DEPS}/lib.sh"; bounded "pkg-x 1.2" {limit} {tries} {cmd}'],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "BOUNDED_PAUSE": "0"})


def test_bounded_stops_a_stalled_download_and_names_the_package():
    started = time.monotonic()
    done = _bounded("sleep 30", 1, 2)
    took = time.monotonic() - started
    assert done.returncode == 1
    assert done.stderr.count("pkg-x 1.2: try ") == 2
    assert "install-deps: giving up on pkg-x 1.2: no result within 1 s (a stalled download?), after 2 tries" in done.stderr
    assert took < 20          # two tries of 1 s each, not the 30 s the command would take


def test_bounded_retries_a_failure_and_says_why():
    done = _bounded("false", 5, 3)
    assert done.returncode == 1
    assert "pkg-x 1.2: try 3 of 3 failed: exit status 1" in done.stderr
    assert "install-deps: giving up on pkg-x 1.2: exit status 1, after 3 tries" in done.stderr


def test_bounded_passes_through_a_success_on_a_later_try(tmp_path):
    flag = tmp_path / "second"
    done = _bounded(f"bash -c 'test -e {flag} || {{ touch {flag}; exit 7; }}'", 5, 3)
    assert done.returncode == 0, done.stderr
    assert "try 1 of 3 failed: exit status 7" in done.stderr and "giving up" not in done.stderr


# Stop 37's CI died after 50 s with exit 141: `rclone version | head -1` under `set -o pipefail`.
# head exits after one line; rclone's next write gets SIGPIPE, and pipefail makes that the
# pipeline's status. Whether it bites depends on timing, so the rule is on the text.
EARLY_EXIT_READER = re.compile(r"\|\s*(head\b|grep\s+(-\w*[qm]|--quiet|--max-count)|sed\s+(-n\s+)?['\"]?\d*q)")


def early_exit_pipes(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()
            if not line.lstrip().startswith("#") and EARLY_EXIT_READER.search(line)]


def test_the_early_exit_grep_finds_what_it_must():
    assert early_exit_pipes("rclone version | head -1 >&2\n")
    assert early_exit_pipes("node --version | grep -q v24\n")
    assert early_exit_pipes("x | sed 1q\n")
    assert not early_exit_pipes("v=$(rclone version)\n# a | head -1 in a comment\nx | grep -v WARNING\n")


def test_a_pipe_into_head_under_pipefail_can_fail_the_step():
    """The failure is real, not a style rule: a writer that outlives head's read dies of SIGPIPE."""
    done = subprocess.run(["bash", "-c", "set -euo pipefail; yes | head -1 >/dev/null"], capture_output=True)
    assert done.returncode == 141


def test_no_install_or_ci_script_pipes_into_an_early_exiting_reader():
    scripts = sorted(DEPS.glob("*.sh")) + sorted((REPO / "scripts").glob("*.sh")) + [REPO / ".ci" / "run"]
    found = {str(p.relative_to(REPO)): early_exit_pipes(p.read_text()) for p in scripts}
    assert {k: v for k, v in found.items() if v} == {}
