"""Issue 27, item 3: a secret reference belongs to one customer. Three customers
copied from acme-logistics kept ACME_SLACK_BOT_TOKEN and validation said ok."""
from __future__ import annotations

import re

from conftest import copy_repo, run_clawtex


def _copy_acme(root, cid: str) -> str:
    text = (root / "customers" / "acme-logistics.yaml").read_text()
    text = text.replace("id: acme-logistics", f"id: {cid}")
    # no domain, so no CNAME step either (validate refuses the flag alone)
    text = re.sub(r"(?m)^(\s*customDomain(CnameAdded)?:.*)$", "", text)
    (root / "customers" / f"{cid}.yaml").write_text(text)
    return text


def test_a_secret_ref_copied_into_another_customer_is_an_error_at_its_position(tmp_path):
    root = copy_repo(tmp_path / "repo")
    text = _copy_acme(root, "copycat-freight")
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "ACME_SLACK_BOT_TOKEN" in l)
    col = text.splitlines()[line - 1].index("botToken") + 1      # the key, as every diagnostic points
    result = run_clawtex(root, "validate", "--no-cache")
    assert result.returncode == 1
    expected = (f"customers/copycat-freight.yaml:{line}:{col}: spec.channels[0].botToken: secret env "
                "'ACME_SLACK_BOT_TOKEN' is also used by customer 'acme-logistics' (customers/acme-logistics.yaml:")
    assert expected in result.stderr, result.stderr


def test_a_fleet_shared_secret_ref_is_allowed(tmp_path):
    root = copy_repo(tmp_path / "repo")
    _copy_acme(root, "copycat-freight")
    before = run_clawtex(root, "validate", "--no-cache").stderr
    settings = (root / "clawtex.yaml").read_text()
    (root / "clawtex.yaml").write_text(settings.replace("\nspec:\n", "\nspec:\n  sharedSecretRefs: [ACME_SLACK_BOT_TOKEN]\n", 1))
    after = run_clawtex(root, "validate", "--no-cache")
    assert "ACME_SLACK_BOT_TOKEN" in before and "ACME_SLACK_BOT_TOKEN" not in after.stderr


def test_validating_only_the_copied_file_still_sees_the_owner(tmp_path):
    """`clawtex validate customers/NEW.yaml` (README step 5) checks the new file against the
    whole repository: before, a copy validated by name said ok. A name that sorts before the
    original's (an earlier file) still gets the error on the new file, and with the cache on."""
    root = copy_repo(tmp_path / "repo")
    _copy_acme(root, "aardvark-freight")
    for flags in (["--no-cache"], []):
        result = run_clawtex(root, "validate", *flags, str(root / "customers" / "aardvark-freight.yaml"))
        assert result.returncode == 1, result.stdout
        assert ("customers/aardvark-freight.yaml:" in result.stderr
                and "'ACME_SLACK_BOT_TOKEN' is also used by customer 'acme-logistics'" in result.stderr), result.stderr
        assert not [l for l in result.stderr.splitlines() if l.startswith("customers/acme-logistics.yaml")]
