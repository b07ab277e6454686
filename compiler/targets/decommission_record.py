"""generated/decommissions.json: the record of every decommissioned customer still in
customers/ - who approved, when, and until when its backups are kept (the decommission
date plus the tier's promised retention, issue 24 item 5).

The apply reads it when it destroys the stack: the backup storage it lists is taken
out of the Terraform state first (scripts/gitops/apply-stack.sh), so the servers go
and the backups stay; ops delete the storage once `backupsKeptUntil` has passed
(docs/replacement.md "Churn")."""
from __future__ import annotations

from ..formats import dump_json
from ..plan import FleetPlan
from ..providers import plugin

RECORD_FILE = "decommissions.json"


def render(plan: FleetPlan) -> dict[str, bytes]:
    customers = {}
    for r in plan.decommissioned:
        customers[r.customer] = {
            "tier": r.tier, "provider": r.provider, "approvedBy": r.approved_by, "date": r.date,
            "backupRetentionDays": r.retention_days, "backupsKeptUntil": r.backups_kept_until,
            "backups": [{"kind": t.kind, "name": t.name, "region": t.region} for t in r.backups],
            "retainedResourceTypes": list(plugin(r.provider).backup_resource_types) if r.backups else [],
        }
    return {RECORD_FILE: dump_json({"customers": customers})}
