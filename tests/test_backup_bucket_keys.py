"""Issue 25 item 4: each DigitalOcean Spaces backup bucket gets a key of its own
(digitalocean_spaces_key, digitalocean v2.99.1 docs/resources/spaces_key.md: `grant`
{bucket, permission: read|readwrite|fullaccess}), never the account-wide Spaces keys;
its pair reaches Ansible only as sensitive outputs, under the names Vultr's
per-subscription keys use."""
from __future__ import annotations

import json

from conftest import REPO


def _stacks():
    for path in sorted((REPO / "generated" / "terraform").glob("*/cdk.tf.json")):
        yield path.parent.name, json.loads(path.read_text())


def test_every_spaces_bucket_has_a_key_for_it_alone():
    seen = 0
    for stack, doc in _stacks():
        res = doc.get("resource", {})
        keys = res.get("digitalocean_spaces_key", {})
        for rid, bucket in res.get("digitalocean_spaces_bucket", {}).items():
            mine = [(name, k) for name, k in keys.items() if any(g["bucket"] == bucket["name"] for g in k.get("grant", []))]
            assert len(mine) == 1, (stack, rid, keys)
            name, key = mine[0]
            assert key["grant"] == [{"bucket": bucket["name"], "permission": "readwrite"}], (stack, key)
            for out, attr in ((f"{rid}_s3_access_key", "access_key"), (f"{rid}_s3_secret_key", "secret_key")):
                o = doc["output"][out]
                assert o["sensitive"] is True and o["value"] == f"${{digitalocean_spaces_key.{name}.{attr}}}", (stack, out)
            seen += 1
        for key in keys.values():      # no key reaches beyond one bucket
            assert all(g["permission"] != "fullaccess" and g["bucket"] for g in key.get("grant", [])), (stack, key)
            assert key.get("grant"), (stack, key)
    assert seen >= 2


def test_vultr_keys_use_the_same_output_names():
    for stack, doc in _stacks():
        for rid in doc.get("resource", {}).get("vultr_object_storage_bucket", {}):
            assert {f"{rid}_s3_access_key", f"{rid}_s3_secret_key"} <= set(doc["output"]), stack
