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
    # Not vacuous: every stack of the examples goes through shapes, DigitalOcean's included
    # (Silver mapleleaf-dental, Platinum orbital-health's DOKS stack, the Bronze shared host).
    templated = {sp.name for _, members in groups.values() for sp, _ in members}
    assert {"acme-logistics", "brightpath-tutors", "helios-energy", "shared-hetzner-fsn1-01",
            "mapleleaf-dental", "orbital-health", "shared-digitalocean-fra1-01"} <= templated
    assert direct == []
    # ... and the DigitalOcean stacks are the committed bytes (written by the plug-in when it
    # built them with the typed provider bindings, before issue 29 moved it to the StackBuilder).
    for name in ("mapleleaf-dental", "orbital-health", "shared-digitalocean-fra1-01"):
        path = f"terraform/{name}/cdk.tf.json"
        assert shaped[path] == (REPO / "generated" / path).read_bytes(), name


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
# Hetzner (Gold), Vultr (Gold, Silver), Bronze (shared hosts, Hetzner and DigitalOcean),
# DigitalOcean Silver, Gold (helios-energy moved to DigitalOcean: droplet + Wazuh droplet, both
# firewalls) and Platinum (DOKS clusters in two regions, global load balancer).
TEMPLATES = ["acme-logistics", "helios-energy", "brightpath-tutors", "pixel-bakery", "mapleleaf-dental",
             "corner-garage", "orbital-health", "do-gold"]
DO_TEMPLATES = ["mapleleaf-dental", "corner-garage", "orbital-health", "do-gold"]


def _write_random(root: Path, customers: list) -> None:
    from fleet import write_customer
    for index, (template, cid, name, suspended) in enumerate(customers):
        cid = f"{cid}-r{index}"
        write_customer(root, "helios-energy" if template == "do-gold" else template, cid, 9000 + index)
        path = root / "customers" / f"{cid}.yaml"
        text = re.sub(r"displayName: .*", lambda _: "displayName: " + json.dumps(name[:120], ensure_ascii=False),
                      path.read_text(), count=1)
        if template == "do-gold":
            text = text.replace("  provider: vultr\n  regions: [ewr]\n", "  provider: digitalocean\n  regions: [nyc3]\n", 1)
            assert "provider: digitalocean" in text
        if suspended:
            text = text.replace("  billing:", "  status: suspended\n  billing:", 1)
        path.write_text(text)


customer_lists = lambda templates: st.lists(st.tuples(st.sampled_from(templates), ids, names, st.booleans()),  # noqa: E731
                                            min_size=2, max_size=4, unique_by=lambda c: c[1])


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(customers=customer_lists(TEMPLATES))
def test_random_customers_shaped_equal_alone(tmp_path_factory, customers):
    root = copy_repo(tmp_path_factory.mktemp("shapes"), with_generated=False)
    # One customer certain to share a shape (the example mapleleaf-dental's: a DigitalOcean
    # Silver stack), whatever the random ones are.
    _write_random(root, customers + [("mapleleaf-dental", "twin", "Twin", False)])
    plan, alone, shaped, direct, groups = _both(root)
    assert shaped == alone
    # a display name holding CDKTF's token marker sends its stack to a synthesis of its own
    assert all("Token[" in repr(plan.customer(c).display_name) for sp in direct for c in sp.customers)
    assert any(len(members) > 1 and members[0][0].provider == "digitalocean" for _, members in groups.values()), \
        "no DigitalOcean shape shared: the test proves nothing"


# ----------------------------------------------------------------- DigitalOcean without its bindings
#
# The DigitalOcean plug-in used to build its provider, droplets, volumes, attachments and firewalls
# with the prebuilt typed bindings (cdktf-cdktf-provider-digitalocean) and `Token.as_number`; now it
# hands the same attributes to the StackBuilder's generic resources, so its stacks are recorded and
# shaped. The oracle here is the bindings themselves: each recorded call is replayed, those five
# kinds through the binding classes (the provider's generated code, not ours), the rest as recorded,
# and the stack must come out byte for byte as the generic route writes it.

def _through_bindings(plan, sp) -> bytes:
    import tempfile

    import cdktf as tf
    from cdktf_cdktf_provider_digitalocean.droplet import Droplet
    from cdktf_cdktf_provider_digitalocean.firewall import Firewall, FirewallInboundRule, FirewallOutboundRule
    from cdktf_cdktf_provider_digitalocean.provider import DigitaloceanProvider
    from cdktf_cdktf_provider_digitalocean.volume import Volume
    from cdktf_cdktf_provider_digitalocean.volume_attachment import VolumeAttachment
    from compiler.targets import terraform

    def numbers(values):      # number-typed attributes hold `${...}` references: Token.as_number, as before
        return [tf.Token.as_number(v) for v in values]

    def inbound(rule):
        return FirewallInboundRule(**{k: numbers(v) if k == "source_droplet_ids" else v for k, v in rule.items()})

    convert = {
        "digitalocean_droplet": (Droplet, {}),
        "digitalocean_volume": (Volume, {}),
        "digitalocean_volume_attachment": (VolumeAttachment, {"droplet_id": tf.Token.as_number}),
        "digitalocean_firewall": (Firewall, {"droplet_ids": numbers,
                                             "inbound_rule": lambda rules: [inbound(r) for r in rules],
                                             "outbound_rule": lambda rules: [FirewallOutboundRule(**r) for r in rules]}),
    }
    ops = terraform._record(plan, sp)
    assert ops is not None, f"{sp.name}: the plug-in was not recordable"
    replayed = 0
    with tempfile.TemporaryDirectory() as out:
        app = tf.App(outdir=out, skip_validation=True, skip_backend_validation=True)
        stack = tf.TerraformStack(app, sp.name)
        for op in ops:
            if op[0] == "provider":
                assert op[1:] == ("digitalocean", "digitalocean/digitalocean"), op
                DigitaloceanProvider(stack, "digitalocean")
                replayed += 1
            elif op[0] == "resource" and op[2] in convert:
                cls, fields = convert[op[2]]
                body = dict(op[3])
                lifecycle = body.pop("lifecycle", None)
                assert not (body.keys() & terraform.META_ARGUMENTS), op
                element = cls(stack, op[1], **{k: fields.get(k, lambda v: v)(v) for k, v in body.items()})
                if lifecycle is not None:
                    element.add_override("lifecycle", lifecycle)
                replayed += 1
            else:
                terraform._play(stack, op)
        app.synth()
        assert replayed >= 2, f"{sp.name}: nothing went through a binding"
        return terraform._normalize(Path(out, "stacks", sp.name, "cdk.tf.json"))


def test_digitalocean_stacks_of_the_examples_equal_the_typed_bindings():
    from compiler.pipeline import plan_repo
    from compiler.targets import terraform
    plan = plan_repo(REPO, use_cache=False)
    stacks = [sp for sp in plan.stacks if sp.provider == "digitalocean"]
    assert {sp.name for sp in stacks} == {"mapleleaf-dental", "orbital-health", "shared-digitalocean-fra1-01"}
    shaped = terraform.synthesize(plan, stacks, [])
    for sp in stacks:
        assert shaped[f"terraform/{sp.name}/cdk.tf.json"] == _through_bindings(plan, sp), sp.name


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(customers=customer_lists(DO_TEMPLATES))
def test_random_digitalocean_customers_equal_the_typed_bindings(tmp_path_factory, customers):
    from compiler.pipeline import plan_repo
    from compiler.targets import terraform
    root = copy_repo(tmp_path_factory.mktemp("do-shapes"), with_generated=False)
    _write_random(root, customers)
    plan = plan_repo(root, use_cache=False)
    stacks = [sp for sp in plan.stacks if sp.provider == "digitalocean"]
    shaped = terraform.synthesize(plan, stacks, [])
    for sp in stacks:
        assert shaped[f"terraform/{sp.name}/cdk.tf.json"] == _through_bindings(plan, sp), sp.name
