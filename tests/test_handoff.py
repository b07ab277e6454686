"""The handoff document from the apply job's real outputs: addresses, the CNAME a
customer creates, support terms from tier data; Markdown and HTML agree."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from compiler.business.handoff import render_handoff
from compiler.pipeline import plan_repo
from compiler.targets.terraform import host_output
from conftest import REPO, run_clawtex


def terraform_outputs(plan, cid: str, directory: Path) -> dict[str, str]:
    """What `terraform output -json` prints for the customer's stacks, keyed by the output
    names the committed cdk.tf.json declares (not by the code under test)."""
    expected = {}
    stacks = sorted({h.stack for h in plan.hosts if h.customer == cid or cid in h.tenants})
    for n, stack in enumerate(stacks):
        declared = json.loads((REPO / "generated" / "terraform" / stack / "cdk.tf.json").read_text())["output"]
        out = {}
        for i, name in enumerate(sorted(declared)):
            literal = declared[name].get("value")
            # A value Terraform knows at plan time (the CNAME target's name) is printed as declared;
            # the rest (addresses, ids) are what the provider assigns: stand-ins here.
            value = literal if isinstance(literal, str) and "${" not in literal else f"203.0.{113 + n}.{10 + i}"
            out[name] = {"sensitive": False, "type": "string", "value": value}
            expected[name] = value
        (directory / f"{stack}.json").write_text(json.dumps(out))
    return expected


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("cid", ["pixel-bakery", "brightpath-tutors", "helios-energy", "orbital-health"])
def test_handoff_from_apply_outputs(cid, tmp_path):
    plan = plan_repo(REPO)
    c = plan.customer(cid)
    values = terraform_outputs(plan, cid, tmp_path)
    out = run_clawtex(REPO, "handoff", cid, "--outputs", str(tmp_path))
    assert out.returncode == 0, out.stderr
    md = out.stdout
    html = run_clawtex(REPO, "handoff", cid, "--outputs", str(tmp_path), "--html").stdout
    parser = _Text()
    parser.feed(html)
    html_text = _words(" ".join(parser.parts))
    for h in (h for h in plan.hosts if h.customer == cid or cid in h.tenants):
        ip = values[host_output(h)]
        row = next(line for line in md.splitlines() if line.startswith(f"| {h.name}"))
        cell = row.rstrip(" |").rsplit("| ", 1)[1]
        # A Kubernetes node is reached through its region's load balancer, and the row says so.
        assert cell == (f"{ip} (region load balancer)" if h.role == "k8s" else ip), row
        assert cell in html_text
    assert "terraform" not in md.lower() and "terraform" not in html_text.lower()    # no internal tooling
    assert "pending" not in md and "Preview" not in md
    if c.custom_domain and c.kubernetes:
        # Platinum: the name is delegated to DigitalOcean's DNS (issue 25 item 4), no CNAME.
        for ns in ("ns1.digitalocean.com.", "ns2.digitalocean.com.", "ns3.digitalocean.com."):
            assert f"| {c.custom_domain} | NS | {ns} |" in md.replace("\\", "") and ns in html_text
        assert "CNAME" not in md and "customer_dns_name" not in values
    elif c.custom_domain:
        target = values["customer_dns_name"] + "."
        assert f"| {c.custom_domain} | CNAME | {target} |" in md.replace("\\", "")
        assert c.custom_domain in html_text and target in html_text
    else:
        assert "CNAME" not in md and "CNAME" not in html_text
    # Support terms, from the founding document's numbers in tiers/*.yaml (written out here).
    expected = {"bronze": (8, "Mon–Fri 09:00–18:00"), "silver": (4, "Mon–Fri 09:00–18:00"),
                "gold": (1, "Mon–Fri around the clock"), "platinum": (1, "every day around the clock")}[c.tier_name]
    for text in (md, html_text):
        assert f"First response within {expected[0]} h" in text
        assert f"Support hours: {expected[1]} (Europe/Berlin time)" in text
    # Markdown and HTML say the same things: every bullet of the Markdown is in the HTML text.
    for line in md.splitlines():
        if line.startswith("- "):
            plain = re.sub(r"[<>`*]|\\", "", line[2:])
            assert _words(plain) in html_text, plain
    assert "@page" in html and "@media print" in html


def test_support_channels_per_tier():
    plan = plan_repo(REPO)
    md = {t: render_handoff(plan, cid) for t, cid in [("bronze", "pixel-bakery"), ("gold", "helios-energy"),
                                                       ("platinum", "orbital-health")]}
    assert "Support by email: support@clawtex.example\n" in md["bronze"]
    assert "Support by discord: our Discord server, https://discord.gg/clawtex\n" in md["bronze"]
    assert "#clawtex-helios-energy" in md["gold"] and "not staffed on public holidays" not in md["gold"]
    assert "not staffed on public holidays in Germany: 2026-01-01" in md["bronze"]
    assert "Support by phone: on-call engineer, +49 30 000000" in md["platinum"]
    assert "account manager" in md["platinum"]


def test_outputs_that_are_not_terraform_json_are_refused(tmp_path):
    (tmp_path / "x.json").write_text('{"a": 1}')
    out = run_clawtex(REPO, "handoff", "pixel-bakery", "--outputs", str(tmp_path))
    assert out.returncode == 1 and "terraform output -json" in out.stderr


def test_report_lists_the_support_terms_of_each_tier():
    out = run_clawtex(REPO, "report", "--support")
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line for line in out.stdout.splitlines()[2:]}
    # The founding document's terms, written out here (not read from tiers/).
    assert rows["bronze"].split()[1:3] == ["8", "h"] and "09:00–18:00" in rows["bronze"]
    assert rows["bronze"].endswith("email, discord")
    assert rows["silver"].split()[1:3] == ["4", "h"] and "discord (priority)" in rows["silver"]
    assert rows["gold"].split()[1:3] == ["1", "h"] and "Mon–Fri around the clock" in rows["gold"]
    assert "slack (dedicated)" in rows["gold"]
    assert "every day around the clock" in rows["platinum"] and "account manager (dedicated)" in rows["platinum"]
