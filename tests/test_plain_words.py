"""Issue 27, item 7: every pydantic error kind reads in plain words at
file:line:col (no "Input should be", no regular expressions), misspelled keys
get "did you mean", every CLI argument is validated and every flag has help."""
from __future__ import annotations

import argparse
import re

import pytest

from conftest import copy_repo, run_clawtex

BASE = "customers/pixel-bakery.yaml"

# (edit of pixel-bakery.yaml, expected diagnostic, written by hand)
CASES = {
    "type": (("  displayName: Pixel Bakery", "  displayName: [Pixel, Bakery]"),
             "6:3: metadata.displayName: expected text, got a list"),
    "pattern": (("    stripeCustomerId: cus_PixelBakery01", '    stripeCustomerId: "cus PixelBakery01"'),
                "16:5: spec.billing.stripeCustomerId: 'cus PixelBakery01' is not valid here: expected a Stripe customer id (cus_…)"),
    "date": (('  onboardedOn: "2026-03-02"', '  onboardedOn: "02.03.2026"'),
             "13:3: spec.onboardedOn: '02.03.2026' is not a date; write YYYY-MM-DD"),
    "literal": (("      dmPolicy: pairing", "      dmPolicy: pairng"),
                "20:7: spec.channels[0].dmPolicy: 'pairng' is not one of the allowed values: pairing, allowlist, open, disabled"),
    "missing": (("    stripeCustomerId: cus_PixelBakery01\n", ""),
                "14:3: spec.billing.stripeCustomerId: required key 'stripeCustomerId' is missing"),
    "extra": (("  regions: [fsn1]", "  regions: [fsn1]\n  regoins: [fsn1]"),
              "13:3: spec.regoins: unknown key 'regoins'; did you mean 'regions'?"),
    "extra-nested": (("      dmPolicy: pairing", "      dmPolicy: pairing\n      botTokn: x"),
                     "21:7: spec.channels[0].botTokn: unknown key 'botTokn'; did you mean 'botToken'?"),
    # Amounts (compiler/money.py exact): text that is no number crashed with a traceback before.
    "amount": (("    monthlyPrice: 49", "    monthlyPrice: lots"),
               "15:5: spec.billing.monthlyPrice: 'lots' is not an amount; write a number such as 249 or 249.50"),
    "decimal-places": (("    monthlyPrice: 49", "    monthlyPrice: 49.999"),
                       "15:5: spec.billing.monthlyPrice: has more than 2 decimal places: write whole cents"),
    "not-finite": (("    monthlyPrice: 49", "    monthlyPrice: .nan"),
                   "15:5: spec.billing.monthlyPrice: must be a finite number"),
    "bound": (("    monthlyPrice: 49", "    monthlyPrice: -5"), "15:5: spec.billing.monthlyPrice: must be more than 0"),
    "too-short": (("  regions: [fsn1]", "  regions: []"), "12:3: spec.regions: needs at least 1 item(s), got 0"),
    "tier-typo": (("  tier: bronze", "  tier: bronz"), "10:3: spec.tier: unknown tier 'bronz'; did you mean 'bronze'?"),
    "env-id": (("id: PIXEL_BAKERY_TELEGRAM_BOT_TOKEN", "id: pixel_token"), "env secret id must match"),
}
LIBRARY_WORDS = re.compile(r"Input should|String should|Decimal input|Field required|Extra inputs|Traceback|\^\[|\]\*\$|\{0,")


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_error_kind_reads_in_plain_words(kind, tmp_path):
    root = copy_repo(tmp_path / "repo", with_generated=False)
    (old, new), expected = CASES[kind]
    path = root / BASE
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    result = run_clawtex(root, "validate", "--no-cache", str(path))
    assert result.returncode == 1
    lines = [l for l in result.stderr.splitlines() if l.startswith(BASE)]
    assert any(expected in l for l in lines), result.stderr
    assert not any(LIBRARY_WORDS.search(l) for l in lines if "env secret id" not in l), result.stderr


def test_allowed_keys_follow_lists_and_optionals():
    from compiler.models import Customer
    from compiler.plain import allowed_keys
    assert "botToken" in allowed_keys(Customer, ("spec", "channels", 0))
    assert "stripeCustomerId" in allowed_keys(Customer, ("spec", "billing"))


def test_deploytime_refuses_an_unknown_tier(tmp_path):
    from conftest import REPO
    result = run_clawtex(REPO, "deploytime", "merged", "--customer", "acme-logistics", "--tier", "gld",
                         "--dir", str(tmp_path))
    assert result.returncode == 2
    assert "--tier 'gld'" in result.stderr and "did you mean 'gold'" in result.stderr
    assert not list(tmp_path.iterdir())


def test_deploytime_refuses_an_unknown_customer_and_a_bad_time(tmp_path):
    from conftest import REPO
    bad = run_clawtex(REPO, "deploytime", "merged", "--customer", "acme-logistic", "--tier", "gold", "--dir", str(tmp_path))
    assert bad.returncode == 2 and "did you mean 'acme-logistics'" in bad.stderr
    at = run_clawtex(REPO, "deploytime", "merged", "--customer", "acme-logistics", "--tier", "gold", "--at", "yesterday",
                     "--dir", str(tmp_path))
    assert at.returncode == 2 and "--at" in at.stderr


def _actions(p: argparse.ArgumentParser, prefix: str = "clawtex"):
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, f"{prefix} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield prefix, action


def test_every_flag_and_argument_has_help_text():
    from compiler.cli import parser
    missing = [f"{where} {a.option_strings or a.dest}" for where, a in _actions(parser()) if not a.help]
    assert not missing, missing
