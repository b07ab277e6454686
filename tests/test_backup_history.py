"""History a customer host cannot erase (issue 24 item 2 and its Hetzner finding: "the box has no
snapshot plan, so a compromised customer host can erase the only copy").

Read from the committed stacks (`compile --check` keeps them the code's output). Expected values
by hand: customers/acme-logistics.yaml is Gold on Hetzner (tiers/gold.yaml: 30 days' retention);
hcloud v1.68.0 docs/resources/storage_box.md "Nested Schema for snapshot_plan" (max_snapshots,
minute, hour; no day_of_week / day_of_month = every day); provider-facts row 23 (at most 10
snapshots a box, unverified: so Gold's 30 days are cut to 10 daily snapshots, said in
docs/backups.md "History a host cannot erase")."""
from __future__ import annotations

import json

from conftest import REPO

# stack -> (box resource, the plan) by hand: daily at 02:30 UTC, 10 kept (min(30 days, the box's 10)).
BOXES = {"acme-logistics": ("backup", {"hour": 2, "minute": 30, "max_snapshots": 10})}


def test_every_storage_box_takes_daily_snapshots_the_host_cannot_delete():
    found = {}
    for path in sorted((REPO / "generated" / "terraform").glob("*/cdk.tf.json")):
        for rid, box in json.loads(path.read_text()).get("resource", {}).get("hcloud_storage_box", {}).items():
            found[path.parent.name] = (rid, box.get("snapshot_plan"))
            # the box itself outlives a destroy and a stray apply (its snapshots go with it otherwise)
            assert box["delete_protection"] is True and box["lifecycle"]["prevent_destroy"] is True, path
    assert found == BOXES
