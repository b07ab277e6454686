"""One CDKTF synthesis per stack shape (compiler/targets/terraform.py `synthesize`, issue 29).

The oracle is CDKTF itself: every stack synthesized on its own (`_synthesize_here`, what
`synthesize` did before shapes, and still does with CLAWTEX_TERRAFORM_SHAPES=0). The
shaped bytes must equal it, for the examples and for random customers whose display names
carry Terraform's `${`/`%{`, JSON's quotes and backslashes, and non-ASCII text.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import REPO, copy_repo

sys.path.insert(0, str(REPO / "bench"))


def _both(root: Path):
    from compiler.pipeline import plan_repo
    from compiler.targets import terraform
    plan = plan_repo(root, use_cache=False)
    alone = terraform._synthesize_here(plan, list(plan.stacks), terraform.fleet_stacks(plan))
    direct, groups = terraform._by_shape(plan, list(plan.stacks))
    shaped = terraform.synthesize(plan)
    return plan, alone, shaped, direct, groups


def test_shaped_synthesis_gives_the_bytes_of_each_stack_synthesized_alone():
    plan, alone, shaped, direct, groups = _both(REPO)
    assert shaped == alone
    assert list(shaped) == sorted(shaped)
    # Not vacuous: the Hetzner and Vultr stacks of the examples go through shapes; the
    # DigitalOcean plug-in uses CDKTF's provider bindings itself, so its stacks are alone.
    templated = {sp.name for _, members in groups.values() for sp, _ in members}
    assert {"acme-logistics", "brightpath-tutors", "helios-energy", "shared-hetzner-fsn1-01"} <= templated
    assert {sp.name for sp in direct} == {"mapleleaf-dental", "orbital-health", "shared-digitalocean-fra1-01"}


def test_stacks_of_one_shape_share_one_synthesis_and_keep_their_own_strings(tmp_path):
    from fleet import make_repo
    root = make_repo(tmp_path / "fleet", 40)
    plan, alone, shaped, direct, groups = _both(root)
    assert shaped == alone
    shared = [members for _, members in groups.values() if len(members) > 1]
    assert shared, "no two stacks of 40 customers shared a shape"
    # The stack name CDKTF writes in its metadata is each stack's own, not the stand-in's.
    for members in shared:
        for sp, _ in members:
            data = json.loads(shaped[f"terraform/{sp.name}/cdk.tf.json"])
            assert data["//"]["metadata"]["stackName"] == sp.name
            assert list(data["//"]["outputs"]) == [sp.name]
            assert "clawtexshape" not in shaped[f"terraform/{sp.name}/cdk.tf.json"].decode()
            assert "clawtexslot" not in shaped[f"terraform/{sp.name}/cdk.tf.json"].decode()


def test_a_shape_cdktf_does_not_carry_whole_is_synthesized_alone(monkeypatch):
    """The guard: when a slot does not come back as a whole string, the shape's stacks are
    synthesized on their own (here forced: every shape refused)."""
    from compiler.pipeline import plan_repo
    from compiler.targets import terraform
    plan = plan_repo(REPO, use_cache=False)
    alone = terraform._synthesize_here(plan, list(plan.stacks), terraform.fleet_stacks(plan))
    refused = []
    monkeypatch.setattr(terraform, "_fillable", lambda *a: refused.append(a[1]) and False)
    assert terraform.synthesize(plan) == alone
    assert refused


def test_the_guard_refuses_a_slot_inside_another_string_or_a_key():
    from compiler.targets import terraform
    sid = "clawtexshape0"
    good = {"//": {"metadata": {"stackName": sid}}, "a": ["clawtexslot0x", {"b": "clawtexslot1x"}]}
    assert terraform._fillable(good, sid, 2)
    assert not terraform._fillable(good, sid, 3)                                  # a slot lost
    assert not terraform._fillable({**good, "c": "x-clawtexslot0x"}, sid, 2)       # carried inside text
    assert not terraform._fillable({**good, "clawtexslot0x": 1}, sid, 2)           # became a key
    assert not terraform._fillable({**good, "//": {"metadata": {"stackName": "other"}}}, sid, 2)


# Display names as an operator might type them, and as an attacker would: Terraform
# interpolation and directives, JSON quotes and backslashes, non-ASCII, the stand-ins' own prefix.
HOSTILE = ["${var.x}", "%{ if true }", "$${", '"', "\\", "\\u0041", "Ünïcødé", "€", "中文",
           "clawtexslot0x", "clawtexshape0", "Token[", " & ", "'", "}", "{"]
printable = st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, whitelist_categories=("L", "N", "P", "S", "Zs"))
names = st.lists(st.sampled_from(HOSTILE) | st.text(alphabet=printable, max_size=6),
                 min_size=1, max_size=5).map(lambda parts: "".join(parts).strip() or "x")
ids = st.from_regex(r"[a-z][a-z0-9]{2,8}", fullmatch=True)
# Hetzner (Gold), Vultr (Gold, Silver), Bronze (shared hosts), DigitalOcean (Silver: alone).
TEMPLATES = ["acme-logistics", "helios-energy", "brightpath-tutors", "pixel-bakery", "mapleleaf-dental"]


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(customers=st.lists(st.tuples(st.sampled_from(TEMPLATES), ids, names), min_size=2, max_size=4,
                          unique_by=lambda c: c[1]))
def test_random_customers_shaped_equal_alone(tmp_path_factory, customers):
    from fleet import write_customer
    root = copy_repo(tmp_path_factory.mktemp("shapes"), with_generated=False)
    for index, (template, cid, name) in enumerate(customers):
        cid = f"{cid}-r{index}"
        write_customer(root, template, cid, 9000 + index)
        path = root / "customers" / f"{cid}.yaml"
        text = re.sub(r"displayName: .*", lambda _: "displayName: " + json.dumps(name[:120], ensure_ascii=False),
                      path.read_text(), count=1)
        path.write_text(text)
    plan, alone, shaped, direct, groups = _both(root)
    assert shaped == alone
    assert any(len(members) > 1 for _, members in groups.values()), "no shape shared: the test proves nothing"
