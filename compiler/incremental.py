"""What one edit can reach, and the layers that let a recompile redo only that.

A compile is always the full pipeline (load -> validate -> plan -> render ->
write) over the whole fleet: nothing is patched in place, so a cached compile
cannot drift from a cold one. What is reused is work whose inputs are
byte-for-byte the same as last time, looked up by content hash in
.clawtex-cache/ (compiler/cache.py). An edit to one customer file reaches
three kinds of output:

1. The customer's own units, recomputed from that customer alone (plus the
   repo-wide config: clawtex.yaml, tiers/, the compiler's source, which every
   cache key includes):
     - its validation verdict            validate.cached_customer_file, key: the file's bytes
     - its Terraform stack (dedicated)   targets.terraform.units, key: the stack plan + terraform_view()
     - its OpenClaw config, its hosts' host_vars, its Wazuh group and manager
       files                             Memo below, key: the data each file is serialized from
2. The shared facts its plan publishes, which can move other customers' units:
     - shared-host placement (plan._placement, sticky through generated/placement.json):
       a Bronze tenant added or removed changes its host's stack, host_vars and
       tenant list, and only those;
     - Wazuh rule-id blocks (plan._wazuh_rule_blocks, sticky through
       generated/wazuh/rule-blocks.json): a compliance customer added shifts
       nobody's block, only its own is new;
     - the fleet index of the committed tree (previous.read_previous, cached by
       the bytes of the files it reads): the decommission guard's input.
   These are recomputed on every compile (plan: ~50 ms at 1,000 customers) and
   whatever they feed is re-keyed by value, so a moved fact re-renders exactly
   the units that read it.
3. Fleet-wide files, which list every customer and are re-serialized whenever
   any of their content changes: placement.json, wazuh/rule-blocks.json, the
   Ansible inventory (hosts.yml), Prometheus targets/rules/tests,
   Alertmanager, Grafana, OpenVAS targets, schemas, the fleet-<provider> stacks.

The serialization Memo is what makes 1 and 3 cheap without every target
declaring its units: a target still builds each file's data from the plan
(cheap), and formats.dump_json/dump_yaml return the bytes stored for data
that pickles to the same bytes last time (YAML representation in Python is
most of a target's cost). Equal pickles mean equal data, so a hit is the same
output a cold compile writes (tests/test_incremental.py checks this over random
edits).
"""
from __future__ import annotations

import hashlib
import io
import pickle
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import fields, replace
from typing import Any, Callable, Iterator

# CustomerPlan fields no Terraform stack reads (targets/terraform.py, providers/*.py
# build_stack: they read id, display name, tier, provider, regions, status, HA mode,
# custom domain, white label, backups/backup targets, load balancers, hosts, stack; and databases:
# a provider plug-in builds a Platinum customer's managed PostgreSQL from them).
# Leaving them out of a stack's fingerprint means an edit to a customer's channels,
# model or skills does not start jsii. A field not listed here is in the
# fingerprint, so a field added to CustomerPlan is safe by default: a plug-in
# that starts reading a field listed here must take it off this list.
TERRAFORM_UNREAD = frozenset({
    "contacts", "channels", "model", "model_endpoints", "skills", "paging", "notifications",
    "compliance", "monthly_price", "stripe_customer_id", "sla_target_percent", "sla_is_override",
    "onboarded_on", "source_file", "vulnerability_scan", "probe", "ready_probe", "release_channel",
    "openclaw_version", "node_version", "public_origin", "agent_settings", "branding",
})


def terraform_view(customer: Any) -> Any:
    """The customer as its Terraform stack sees it: TERRAFORM_UNREAD fields blanked."""
    blank = {f.name: None for f in fields(customer) if f.name in TERRAFORM_UNREAD}
    return replace(customer, **blank)


def body_view(sp: Any) -> Any:
    """The StackPlan a stack's resources are built from (terraform._synthesize_here).

    A shared host's tenants enter its stack only in the "//".clawtex block (the
    customer ids and the description), which terraform.adapt sets on a reused
    stack; its resources are built from this view, with the tenants blanked (the
    stack's customers, each host's tenants and slots), so they cannot read them.
    Adding or removing a Bronze tenant therefore starts no jsii. Dedicated and
    multi-region stacks are built from the whole StackPlan and their customers'
    terraform_view()."""
    if sp.kind != "shared":
        return sp
    return replace(sp, customers=(), hosts=tuple(replace(h, tenants=(), slots=()) for h in sp.hosts))


def stack_fingerprints(plan: Any, fleet_stacks: list[str]) -> dict[str, bytes]:
    """Stack name -> everything its Terraform JSON depends on (targets/terraform.units).

    Fleet-wide inputs (settings, provider catalog, runtime, tiers) are hashed once and
    prefix every stack's fingerprint; a customer enters as terraform_view() with its
    tier by name (the tier's content is in the prefix)."""
    shared = hashlib.sha256(repr((plan.settings, plan.catalog, plan.runtime,
                                  sorted(plan.tiers.items()))).encode()).digest()

    names: list[str] = []

    def view(cid: str) -> Any:
        # terraform_view() with the tier by name, as (field, value) pairs: the same facts
        # as the dataclass's repr, without building two copies of each customer.
        # The display name reaches a stack only in its "//.clawtex" description
        # (targets/terraform.stack_comment), which terraform.adapt sets on a reused
        # stack: a rename starts no jsii. tests/test_incremental.py renames at random.
        c = plan.customer(cid)
        if not names:
            names.extend(f.name for f in fields(c))
        return tuple((n, None if n in TERRAFORM_UNREAD or n == "display_name" else
                      c.tier.name if n == "tier" else getattr(c, n)) for n in names)

    out = {sp.name: shared + repr((body_view(sp), [] if sp.kind == "shared" else [view(cid) for cid in sp.customers])).encode()
           for sp in plan.stacks}
    out.update({name: shared + name.encode() for name in fleet_stacks})
    return out


# ---------------------------------------------------------------- serialization memo

_ACTIVE: ContextVar["Memo | None"] = ContextVar("clawtex_memo", default=None)


def _digest(kind: str, args: tuple) -> bytes | None:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True      # no memo: equal trees pickle to equal bytes, however their objects are shared
    try:
        pickler.dump((kind, args))
    except Exception:  # noqa: BLE001 - data that does not pickle is simply not memoized
        return None
    return hashlib.blake2b(buffer.getvalue(), digest_size=20).digest()


class Memo:
    """Serialized bytes by the digest of the data they were serialized from.

    `previous`: what the last compile of this target stored; `entries` ends up
    holding only what this compile used, so the store never outgrows the output."""

    def __init__(self, previous: dict[bytes, bytes] | None = None):
        self.previous = previous or {}
        self.entries: dict[bytes, bytes] = {}
        self.hits = self.misses = 0

    def serialize(self, kind: str, args: tuple, render: Callable[..., bytes]) -> bytes:
        key = _digest(kind, args)
        if key is None:
            return render(*args)
        out = self.entries.get(key)
        if out is None:
            out = self.previous.get(key)
            if out is None:
                self.misses += 1
                out = render(*args)
            else:
                self.hits += 1
            self.entries[key] = out
        return out

    @property
    def changed(self) -> bool:
        return self.entries.keys() != self.previous.keys()


@contextmanager
def memoizing(memo: Memo) -> Iterator[Memo]:
    token = _ACTIVE.set(memo)
    try:
        yield memo
    finally:
        _ACTIVE.reset(token)


def serialize(kind: str, args: tuple, render: Callable[..., bytes]) -> bytes:
    """render(*args), through the active Memo if a compile set one."""
    memo = _ACTIVE.get()
    return render(*args) if memo is None else memo.serialize(kind, args, render)


def serialize_keyed(kind: str, key: tuple, render: Callable[[], bytes]) -> bytes:
    """render(), through the active Memo, looked up by `key`: for a file built from a few
    facts of one customer and from fleet-wide objects too large to pickle per file. The
    caller states the file's inputs in `key`: each fleet-wide object or model by its
    fingerprint() (computed once per render, not once per file), everything else as plain
    values (str, numbers, tuples of them), and render() reads nothing else
    (targets/grafana.py: a customer's dashboard; targets/wazuh.py)."""
    memo = _ACTIVE.get()
    return render() if memo is None else memo.serialize(kind, key, lambda *_: render())


def fingerprint(*objects: Any) -> bytes:
    """A digest of the objects' repr: the same facts as stack_fingerprints hashes the tiers
    by. Not their pickle: a pydantic model pickles its fields-set, a set of strings whose
    order changes with each interpreter's hash seed, so no later compile would find it."""
    return hashlib.blake2b(repr(objects).encode("utf-8"), digest_size=20).digest()
