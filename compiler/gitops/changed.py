"""`clawtex changed`: which stacks and customers a change affects, decided by
what it does to the output.

generated/ is committed and gated by `compile --check`, so the stacks whose
generated files differ between base and head are exactly the ones whose
infrastructure changes (a comment in a tier file changes nothing; a tier price
changes only billing). Modules are the exception - their effect is not in
generated/ - so a changed modules/terraform/<m> affects the stacks that use
it, and a changed Ansible role the hosts that run it. Customers that disappear
are always reported as removals."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .artifacts import INVENTORY, OPENCLAW, PLACEMENT, RULES, TARGETS, TERRAFORM, WAZUH, Fleet, read_fleet
from .snapshot import WORKTREE, changed_paths, files_at, open_repo, under

# Applies to these tiers wait for a required reviewer (GitHub environment).
PROTECTED_TIERS = ("gold", "platinum")
ENV_PROTECTED = "fleet-protected"
ENV_DEFAULT = "fleet"
# Apply order (apply.yml): the provider's fleet stack (its ops SSH key, looked up by
# name in every customer stack) first, then the customer and shared stacks in
# parallel batches, and a fleet stack that goes away only after every stack using it.
FLEET_KIND = "fleet"                       # //.clawtex.kind of a fleet-<provider> stack
PHASE_FLEET_FIRST, PHASE_STACKS, PHASE_FLEET_LAST = "fleet-first", "stacks", "fleet-last"


@dataclass
class StackChange:
    stack: str
    action: str = "update"                 # create | update | destroy
    customers: set[str] = field(default_factory=set)
    hosts: list[str] = field(default_factory=list)
    tier: str | None = None
    reasons: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)        # its customers that leave the fleet: final backup first
    account: bool = False                  # a fleet-<provider> stack: account-wide resources (FLEET_KIND)

    @property
    def phase(self) -> str:
        """When it applies: customer stacks look up the fleet stack's resources by
        name, so a fleet stack is created/updated before them and destroyed after."""
        if not self.account:
            return PHASE_STACKS
        return PHASE_FLEET_LAST if self.action == "destroy" else PHASE_FLEET_FIRST

    @property
    def environment(self) -> str:
        protected = self.account or self.action == "destroy" or bool(self.removed) or self.tier in PROTECTED_TIERS
        return ENV_PROTECTED if protected else ENV_DEFAULT

    def as_dict(self) -> dict:
        return {"stack": self.stack, "action": self.action, "tier": self.tier, "environment": self.environment,
                "phase": self.phase,
                "removed": ",".join(sorted(self.removed)),
                "customers": sorted(self.customers), "hosts": self.hosts, "limit": ",".join(self.hosts),
                "reasons": sorted(self.reasons)}


@dataclass
class CustomerChange:
    customer: str
    change: str = "changed"                # added | changed | removed
    stacks: set[str] = field(default_factory=set)
    reasons: set[str] = field(default_factory=set)

    def as_dict(self) -> dict:
        return {"customer": self.customer, "change": self.change, "stacks": sorted(self.stacks),
                "reasons": sorted(self.reasons)}


@dataclass
class ChangeSet:
    base: Fleet
    head: Fleet
    stacks: dict[str, StackChange] = field(default_factory=dict)
    customers: dict[str, CustomerChange] = field(default_factory=dict)
    fleet: set[str] = field(default_factory=set)          # changes that reach no stack (schemas, alert rules)

    def touch_stack(self, stack: str, reason: str) -> None:
        self.stacks.setdefault(stack, StackChange(stack)).reasons.add(reason)

    def touch_customer(self, customer: str, reason: str, deploys: bool = True) -> None:
        """`deploys`: the change reaches the customer's hosts, so their stacks are affected too."""
        self.customers.setdefault(customer, CustomerChange(customer)).reasons.add(reason)
        if deploys:
            for stack in self.base.stacks_of(customer) | self.head.stacks_of(customer):
                self.touch_stack(stack, f"customer {customer}: {reason}")

    def touch_host(self, host: str, reason: str) -> None:
        for fleet in (self.base, self.head):
            if host in fleet.hosts and fleet.hosts[host].stack:
                self.touch_stack(fleet.hosts[host].stack, f"host {host}: {reason}")

    @property
    def removed_customers(self) -> list[str]:
        return sorted(c for c, change in self.customers.items() if change.change == "removed")

    def as_dict(self) -> dict:
        stacks = [self.stacks[s].as_dict() for s in sorted(self.stacks)]
        ordered = [self.stacks[s] for s in sorted(self.stacks)]
        jobs = batches([s for s in ordered if s.phase == PHASE_STACKS])
        for job in jobs:
            for name in job["stacks"]:
                stacks[_index(stacks, name)]["batch"] = job["batch"]
        return {"stacks": stacks, "customers": [self.customers[c].as_dict() for c in sorted(self.customers)],
                "removed_customers": self.removed_customers, "fleet": sorted(self.fleet),
                "batches": jobs,
                "matrix": {"include": [{k: job[k] for k in ("batch", "environment", "count")} for job in jobs]},
                # Fleet stacks: a handful (one per provider), applied in order by one job each side of the matrix.
                PHASE_FLEET_FIRST: [s.stack for s in ordered if s.phase == PHASE_FLEET_FIRST],
                PHASE_FLEET_LAST: [s.stack for s in ordered if s.phase == PHASE_FLEET_LAST]}


# GitHub Actions limits (docs.github.com, "Running variations of jobs in a workflow":
# "A matrix can generate a maximum of 256 jobs per workflow run"; "Passing information
# between jobs": "Job outputs ... maximum of 1 MB" per job, 50 MB per run). The matrix
# holds batch ids only - each job reads its stacks from the changed.json artifact -
# so the job output stays a few kilobytes however many stacks change.
MAX_JOBS = 256
MAX_OUTPUT_BYTES = 1024 * 1024
# Within a job: new stacks first, then updates, destroys last (a destroy's final
# backup is the slowest step and nothing else waits on it).
_ACTION_ORDER = {"create": 0, "update": 1, "destroy": 2}


def _index(stacks: list[dict], name: str) -> int:
    lo, hi = 0, len(stacks)
    while lo < hi:                         # stacks are sorted by name
        mid = (lo + hi) // 2
        if stacks[mid]["stack"] < name:
            lo = mid + 1
        else:
            hi = mid
    return lo


def batches(stacks: list[StackChange], max_jobs: int = MAX_JOBS) -> list[dict]:
    """Stacks grouped into at most `max_jobs` jobs. A job runs in one GitHub environment
    (protected stacks wait for a reviewer, the rest do not), so batches never mix them;
    stacks are spread evenly, and each job applies its stacks one after another, each
    with its own state and lock, a failure stopping only that stack."""
    by_env: dict[str, list[StackChange]] = {}
    for stack in sorted(stacks, key=lambda s: (_ACTION_ORDER.get(s.action, 1), s.stack)):
        by_env.setdefault(stack.environment, []).append(stack)
    if not by_env:
        return []
    if len(by_env) > max_jobs:
        raise ValueError(f"{len(by_env)} environments cannot share {max_jobs} jobs")
    size = max(1, -(-len(stacks) // max_jobs))
    while sum(-(-len(group) // size) for group in by_env.values()) > max_jobs:
        size += 1
    jobs = []
    for env in sorted(by_env):
        group = by_env[env]
        count = -(-len(group) // size)
        # even spread: sizes differ by at most one
        for k in range(count):
            part = group[k * len(group) // count:(k + 1) * len(group) // count]
            jobs.append({"batch": f"{env}-{k + 1:03d}", "environment": env, "count": len(part),
                         "stacks": [s.stack for s in part]})
    return jobs


def detect(base_files: dict[str, bytes], head_files: dict[str, bytes]) -> ChangeSet:
    """Both arguments: repo-relative path -> bytes (see snapshot.files_at)."""
    base_gen, head_gen = under(base_files, "generated"), under(head_files, "generated")
    changes = ChangeSet(read_fleet(base_gen), read_fleet(head_gen))
    for path in changed_paths(base_gen, head_gen):
        _generated_change(changes, path)
    for path in changed_paths(under(base_files, "modules"), under(head_files, "modules")):
        _module_change(changes, path)
    _customer_lifecycle(changes, base_files, head_files)
    _finish(changes)
    return changes


def _generated_change(changes: ChangeSet, path: str) -> None:
    parts = path.split("/")
    if path.startswith(TERRAFORM) and len(parts) >= 3:
        _terraform_change(changes, parts[1], path)
    elif path.startswith((OPENCLAW, WAZUH + "groups/", WAZUH + "managers/")) and len(parts) >= 3:
        customer = parts[1] if path.startswith(OPENCLAW) else parts[2]
        changes.touch_customer(customer, f"generated/{path}")
    elif path == PLACEMENT:
        _placement_change(changes)
    elif path == INVENTORY:
        _inventory_change(changes)
    elif path.startswith(HOST_VARS) and len(parts) == 4:
        _host_vars_file_change(changes, parts[3].rsplit(".", 1)[0], path)
    elif path.startswith(TARGETS):
        _targets_change(changes, path)
    elif path.startswith(WAZUH):
        changes.fleet.add(f"wazuh rules: generated/{path}")
    elif path.startswith(RULES):
        changes.fleet.add(f"alert rules: generated/{path}")
    else:
        changes.fleet.add(f"generated/{path}")


def _terraform_change(changes: ChangeSet, stack: str, path: str) -> None:
    changes.touch_stack(stack, f"generated/{path}")
    owners = set()
    for fleet in (changes.base, changes.head):
        if stack in fleet.stacks:
            owners.update(fleet.stacks[stack].customers)
    if len(owners) == 1:      # a dedicated stack is its customer's infrastructure
        changes.touch_customer(owners.pop(), f"terraform stack {stack}", deploys=False)


HOST_VARS = "ansible/inventory/host_vars/"


def _host_vars_file_change(changes: ChangeSet, host: str, path: str) -> None:
    """A per-host variables file reaches that host (and its stack and customers), not the fleet."""
    changes.touch_host(host, f"generated/{path}")
    for fleet in (changes.base, changes.head):
        if host in fleet.hosts:
            for customer in fleet.hosts[host].customers:
                changes.touch_customer(customer, f"host {host}: generated/{path}", deploys=False)


def _placement_change(changes: ChangeSet) -> None:
    base, head = changes.base.placement, changes.head.placement
    for host in sorted(set(base) | set(head)):
        before, after = set(base.get(host, ())), set(head.get(host, ()))
        if before == after:
            continue
        changes.touch_stack(host, "placement.json: tenants changed")
        for customer in sorted(before ^ after):
            changes.touch_customer(customer, f"placement on {host}", deploys=False)


def _inventory_change(changes: ChangeSet) -> None:
    base, head = changes.base, changes.head
    if base.fleet_vars != head.fleet_vars:
        for host in sorted(set(base.hosts) | set(head.hosts)):
            changes.touch_host(host, "fleet-wide inventory variables")
    for host in sorted(set(base.hosts) | set(head.hosts)):
        before, after = base.hosts.get(host), head.hosts.get(host)
        if before == after:
            continue
        if before and after and before.groups == after.groups:
            _host_vars_change(changes, host, before.vars, after.vars)
        else:
            changes.touch_host(host, "inventory host added, removed or regrouped")


def _host_vars_change(changes: ChangeSet, host: str, before: dict, after: dict) -> None:
    containers = "openclaw_containers"
    others = {k for k in set(before) | set(after) if before.get(k) != after.get(k) and k != containers}
    if others:
        changes.touch_host(host, "host variables " + ", ".join(sorted(others)))
    if before.get(containers) != after.get(containers):
        old = {str(c.get("customer")): c for c in before.get(containers) or []}
        new = {str(c.get("customer")): c for c in after.get(containers) or []}
        changes.touch_host(host, "shared-host containers")
        for customer in sorted(set(old) | set(new)):
            if old.get(customer) != new.get(customer):
                changes.touch_customer(customer, f"container on {host}", deploys=False)


def _targets_change(changes: ChangeSet, path: str) -> None:
    before, after = changes.base.targets.get(path, {}), changes.head.targets.get(path, {})
    for customer in sorted(set(before) | set(after)):
        if before.get(customer) != after.get(customer):
            changes.touch_customer(customer, f"monitoring targets generated/{path}", deploys=False)


def _module_change(changes: ChangeSet, path: str) -> None:
    parts = path.split("/")
    if parts[0] == "terraform" and len(parts) > 2:
        _terraform_module_change(changes, parts[1])
    elif parts[0] == "ansible":
        _ansible_module_change(changes, parts)
    else:
        changes.fleet.add(f"modules/{path}")


def _uses_module(source: str, module: str) -> bool:
    segments = [s for s in source.split("/") if s not in ("", ".", "..")]
    needle = ["modules", "terraform", module]
    return any(segments[i:i + 3] == needle for i in range(len(segments)))


def _terraform_module_change(changes: ChangeSet, module: str) -> None:
    for fleet in (changes.base, changes.head):
        for stack in fleet.stacks.values():
            if any(_uses_module(src, module) for src in stack.module_sources):
                changes.touch_stack(stack.name, f"uses modules/terraform/{module}")


def _ansible_module_change(changes: ChangeSet, parts: list[str]) -> None:
    hosts = changes.head.hosts
    role = parts[2] if len(parts) > 3 and parts[1] == "roles" else None
    knows_roles = any(h.roles is not None for h in hosts.values())
    for host in sorted(hosts.values(), key=lambda h: h.name):
        # Without clawtex_roles in the inventory (or for playbooks, group_vars...)
        # any Ansible change may reach every host.
        if role is None or not knows_roles or role in (host.roles or ()):
            changes.touch_host(host.name, f"modules/{'/'.join(parts[:3])}")


def _customer_lifecycle(changes: ChangeSet, base_files: dict, head_files: dict) -> None:
    before, after = changes.base.customers, changes.head.customers
    for customer in sorted(before - after):
        changes.touch_customer(customer, "removed from generated/")
        changes.customers[customer].change = "removed"
    for customer in sorted(after - before):
        changes.touch_customer(customer, "added to generated/", deploys=False)
        changes.customers[customer].change = "added"
    base_ids, head_ids = _customer_files(base_files), _customer_files(head_files)
    for customer in sorted(base_ids - head_ids):
        # Already decommissioned earlier (nothing left in generated/), yet never silent.
        changes.touch_customer(customer, f"customers/{customer}.yaml deleted", deploys=False)
        changes.customers[customer].change = "removed"


def _customer_files(files: dict) -> set[str]:
    return {p[len("customers/"):-len(".yaml")] for p in files if p.startswith("customers/") and p.endswith(".yaml")}


def _finish(changes: ChangeSet) -> None:
    base, head = changes.base, changes.head
    for name, stack in changes.stacks.items():
        in_base, in_head = name in base.stacks, name in head.stacks
        stack.action = "destroy" if in_base and not in_head else "create" if in_head and not in_base else "update"
        source = head if in_head or not in_base else base
        stack.hosts = source.hosts_of(name) or base.hosts_of(name)
        stack.tier = source.tier_of_stack(name) or base.tier_of_stack(name)
        for fleet in (base, head):
            if name in fleet.stacks:
                stack.customers.update(fleet.stacks[name].customers)
        known = head.stacks.get(name) or base.stacks.get(name)
        stack.account = known is not None and known.kind == FLEET_KIND
    for name, customer in changes.customers.items():
        customer.stacks = base.stacks_of(name) | head.stacks_of(name)
        if customer.change == "removed":
            for stack in customer.stacks & set(changes.stacks):
                changes.stacks[stack].removed.add(name)


def changed(root: Path, base: str, head: str | None = WORKTREE) -> ChangeSet:
    repo = open_repo(root)
    return detect(files_at(repo, root, base), files_at(repo, root, head))


def unapproved(root: Path, base: str, head: str | None = WORKTREE) -> list[str]:
    """Removals in base..head that carry no decommission approval (see decommission.py)."""
    from .decommission import unapproved_removals
    repo = open_repo(root)
    base_files, head_files = files_at(repo, root, base), files_at(repo, root, head)
    return unapproved_removals(detect(base_files, head_files).removed_customers, base_files, head_files)


def format_text(changes: ChangeSet) -> str:
    data = changes.as_dict()
    lines = [f"stack {s['stack']} ({s['action']}, {s['tier'] or '-'}): customers {', '.join(s['customers']) or '-'}"
             f" | hosts {s['limit'] or '-'}" for s in data["stacks"]]
    lines += [f"customer {c['customer']} ({c['change']}): {'; '.join(c['reasons'])}" for c in data["customers"]]
    lines += [f"REMOVED customer {c}: decommission, not a silent delete" for c in data["removed_customers"]]
    lines += [f"fleet: {item}" for item in data["fleet"]]
    return "\n".join(lines) if lines else "no stacks or customers affected"


def to_json(changes: ChangeSet) -> str:
    """Compact: at fleet scale the change set is the artifact the apply jobs read."""
    return json.dumps(changes.as_dict(), sort_keys=True, separators=(",", ":")) + "\n"
