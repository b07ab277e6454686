"""Issue 24 item 2: every backup credential comes from where it lives, for each backup kind and
provider, and reaches the host only through the apply run's private channels.

Joins three targets: the customer's Terraform stack (generated/terraform/<stack>/cdk.tf.json,
the outputs it declares), the Ansible inventory (host_vars `backup`: which outputs the role reads)
and the backup role itself (ansible-playbook renders its rclone.conf). The expected resource
attribute behind each output is written here by hand from the providers' sources:

- hcloud v1.68.0 docs/resources/storage_box.md: `server` (the SFTP host), `username`, `ssh_keys`;
  hashicorp/tls CHANGELOG 3.2.0: `tls_private_key` ED25519, `private_key_openssh`/`public_key_openssh`
  (the key the box trusts, its public half in the box's `ssh_keys`);
- vultr v2.32.0 vultr/resource_vultr_object_storage.go: `s3_access_key`, `s3_secret_key`, one pair
  per subscription (`vultr_object_storage`), which holds the bucket (`object_storage_id`);
- digitalocean v2.99.1 docs/resources/spaces_key.md: `access_key`, `secret_key`, granted on one
  bucket (`grant.bucket`).

Fails on 3451b08: the role wrote one global pair (CLAWTEX_BACKUP_S3_ACCESS_KEY_ID from the
controller's environment) for every Vultr subscription and Spaces bucket, the copy included.
"""
from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from test_ansible import INVENTORY, ROLES, ansible_env, hostvars, run

TERRAFORM = REPO / "generated" / "terraform"
TASKS = ROLES / "backup" / "tasks" / "main.yml"

# By hand (module docstring): (resource type, attribute) behind each credential, per provider.
SOURCES = {
    "hetzner": {"host": ("hcloud_storage_box", "server"), "user": ("hcloud_storage_box", "username"),
                "key": ("tls_private_key", "private_key_openssh")},
    "vultr": {"access_key": ("vultr_object_storage", "s3_access_key"), "secret_key": ("vultr_object_storage", "s3_secret_key")},
    "digitalocean": {"access_key": ("digitalocean_spaces_key", "access_key"), "secret_key": ("digitalocean_spaces_key", "secret_key")},
}
SECRET_USES = {"access_key", "secret_key", "key"}
# By hand, tiers/*.yaml: the tiers whose spec has backups (the brief: Bronze has none).
BACKUP_TIERS = {"silver", "gold", "platinum"}
# The secret-store values the role reads from the controller's environment, per kind (by hand).
SECRET_STORE = {"s3": ("RESTIC_PASSWORD",), "sftp": ("RESTIC_PASSWORD", "BACKUP_SFTP_KNOWN_HOSTS")}
# The old global names: set as decoys, they must never reach a host's rclone.conf.
DECOYS = {"CLAWTEX_BACKUP_S3_ACCESS_KEY_ID": "GLOBAL-ACCESS-KEY", "CLAWTEX_BACKUP_S3_SECRET_ACCESS_KEY": "GLOBAL-SECRET-KEY"}


def customers() -> dict[str, dict]:
    out = {}
    for path in sorted((REPO / "customers").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())["spec"]
        if spec.get("status") not in ("decommissioned",):
            out[path.stem] = spec
    return out


def backup_hosts() -> dict[str, dict]:
    """Gateway hosts of every customer whose tier takes backups, from the inventory."""
    hv = hostvars()
    want = {cid for cid, spec in customers().items() if spec["tier"] in BACKUP_TIERS}
    # A Platinum cluster's control target counts: its CronJob backs up the gateway's volume.
    gateway = {h for h, v in hv.items() if "openclaw" in v.get("clawtex_roles", [])}
    hosts = {h: v for h, v in hv.items() if h in gateway and v.get("clawtex_customer") in want and "backup" in v}
    # Not vacuous: every such customer has at least one host with the backup role.
    assert {v["clawtex_customer"] for v in hosts.values()} == want
    return hosts


def stack_config(stack: str) -> dict:
    return json.loads((TERRAFORM / stack / "cdk.tf.json").read_text())


def _reference(value: str) -> tuple[str, str, str]:
    m = re.fullmatch(r"\$\{(\w+)\.(\w+)\.(\w+)\}", value)
    assert m, value
    return m.group(1), m.group(2), m.group(3)


def _destinations(hv: dict) -> list[tuple[str, dict]]:
    b = hv["backup"]
    out = [(b["bucket"], b["outputs"])]
    if b.get("copy_bucket"):
        out.append((b["copy_bucket"], b["copy_outputs"]))
    return out


def test_every_backup_credential_is_an_output_the_customers_stack_declares():
    """Each output host_vars names is declared by the customer's own stack, from the resource
    attribute the provider documents, on the resource of THAT bucket or box (a Vultr subscription
    holding that bucket, a Spaces key granted on that bucket), sensitive when it is a key."""
    checked = 0
    for host, hv in sorted(backup_hosts().items()):
        spec = customers()[hv["clawtex_customer"]]
        provider = spec["provider"]
        b = hv["backup"]
        cfg = stack_config(b["outputs_stack"])
        resources = cfg.get("resource", {})
        # The stack is the customer's: its backup store carries the destination's name.
        for bucket, outputs in _destinations(hv):
            assert set(outputs) == set(SOURCES[provider]), (host, outputs)
            for use, name in outputs.items():
                declared = cfg.get("output", {}).get(name)
                assert declared, f"{host}: stack {b['outputs_stack']} declares no output {name}"
                rtype, rname, attr = _reference(declared["value"])
                assert (rtype, attr) == SOURCES[provider][use], (host, name, declared["value"])
                assert bool(declared.get("sensitive")) == (use in SECRET_USES), (host, name)
                body = resources[rtype][rname]
                if rtype == "hcloud_storage_box":
                    assert body["name"] == bucket, (host, name)
                elif rtype == "tls_private_key":
                    # The box trusts exactly this key's public half (and ops').
                    boxes = [r for r in resources["hcloud_storage_box"].values()
                             if f"${{trimspace(tls_private_key.{rname}.public_key_openssh)}}" in r["ssh_keys"]]
                    assert [r["name"] for r in boxes] == [bucket] and body["algorithm"] == "ED25519", (host, name)
                elif rtype == "vultr_object_storage":
                    holders = [r for r in resources["vultr_object_storage_bucket"].values()
                               if r["object_storage_id"] == f"${{vultr_object_storage.{rname}.id}}"]
                    assert [r["name"] for r in holders] == [bucket], (host, name, holders)
                else:
                    assert [g["bucket"] for g in body["grant"]] == [bucket] and body["grant"][0]["permission"] == "readwrite"
                checked += 1
        if b.get("copy_outputs"):
            # The copy never borrows the primary's key: another subscription / another key.
            primary = {_reference(cfg["output"][n]["value"])[1] for n in b["outputs"].values()}
            copy = {_reference(cfg["output"][n]["value"])[1] for n in b["copy_outputs"].values()}
            assert not primary & copy, (host, primary, copy)
    # By hand from customers/: Hetzner sftp, Vultr and DigitalOcean s3 (Platinum with its copy) all seen.
    assert checked >= 8
    assert {customers()[hv["clawtex_customer"]]["provider"] for hv in backup_hosts().values()} == set(SOURCES)


def test_the_role_writes_each_destinations_own_credentials(tmp_path):
    """ansible-playbook renders the role's rclone.conf for every backup host, with every output of
    every stack set to a distinct marker and the old global pair set as decoys: each remote holds
    exactly its own destination's outputs, and only the secret-store names (per customer) are read
    from the environment."""
    hosts = backup_hosts()
    outputs = {}
    for stack_dir in sorted(TERRAFORM.iterdir()):
        if (stack_dir / "cdk.tf.json").exists():
            outputs[stack_dir.name] = {n: f"OUT-{stack_dir.name}-{n}" for n in stack_config(stack_dir.name).get("output", {})}
    env = {k: v for k, v in ansible_env(tmp_path).items() if not k.startswith("CLAWTEX_")}
    env.update(DECOYS)
    for hv in hosts.values():
        prefix = "CLAWTEX_" + hv["clawtex_customer"].upper().replace("-", "_") + "_"
        for name in SECRET_STORE[hv["backup"]["kind"]]:
            env[prefix + name] = f"STORE-{prefix}{name}"
    (tmp_path / "vars.json").write_text(json.dumps({"clawtex_tf_outputs": outputs, "out_dir": str(tmp_path)}))
    # The role's own key task, into a directory per host (owner/group dropped: the test need not run as root).
    key_task = next(t for t in yaml.safe_load(TASKS.read_text()) if t["name"] == "Storage Box key and host key (sftp)")
    key_task["ansible.builtin.copy"] = {k: v for k, v in key_task["ansible.builtin.copy"].items() if k not in ("owner", "group")}
    key_task["vars"] = {"backup_config_dir": "{{ out_dir }}/{{ inventory_hostname }}"}
    play = [{"hosts": ",".join(sorted(hosts)), "connection": "local", "gather_facts": False,
             "vars_files": [str(ROLES / "backup" / "defaults" / "main.yml")],
             "tasks": [t for t in yaml.safe_load(TASKS.read_text()) if t["name"] in (
                 "Backup secrets are set on the controller", "Backup credentials are in the stack's Terraform outputs")]
             + [{"name": "render", "ansible.builtin.template": {
                 "src": str(ROLES / "backup" / "templates" / "rclone.conf.j2"),
                 "dest": "{{ out_dir }}/{{ inventory_hostname }}.rclone.conf", "mode": "0600"}, "no_log": True},
                {"name": "key dir", "ansible.builtin.file": {"path": "{{ out_dir }}/{{ inventory_hostname }}", "state": "directory"}},
                key_task]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    r = run("ansible-playbook", "-i", str(INVENTORY), str(tmp_path / "play.yml"), "-e", f"@{tmp_path / 'vars.json'}", env=env)
    for value in (*DECOYS.values(), *(v for o in outputs.values() for v in o.values() if "_key" in v)):
        assert value not in r.stdout + r.stderr, f"{value} in ansible-playbook's output"
    problems = []
    for host, hv in sorted(hosts.items()):
        b = hv["backup"]
        stack = outputs[b.get("outputs_stack", hv["clawtex_customer"])]
        path = tmp_path / f"{host}.rclone.conf"
        if not path.exists():
            problems.append(f"{host}: the role did not render rclone.conf: "
                            + " ".join(line for line in r.stdout.splitlines() if host in line and "msg" in line)[-400:])
            continue
        conf = configparser.ConfigParser(interpolation=None)
        conf.read_string(path.read_text())
        keys = sorted(p.name for p in (tmp_path / host).iterdir()) if (tmp_path / host).is_dir() else []
        if b["kind"] == "sftp":
            got = (conf["backup"]["host"], conf["backup"]["user"])
            if got != (stack["backup_endpoint"], stack["backup_sftp_user"]):
                problems.append(f"{host}: sftp host/user {got}")
            # The key the box trusts, from the stack output; the host key line from the secret store.
            installed = {n: (tmp_path / host / n).read_text() for n in keys}
            prefix = "CLAWTEX_" + hv["clawtex_customer"].upper().replace("-", "_") + "_"
            if installed != {"storagebox_ed25519": stack["backup_sftp_key"] + "\n",
                             "storagebox_known_hosts": f"STORE-{prefix}BACKUP_SFTP_KNOWN_HOSTS\n"}:
                problems.append(f"{host}: Storage Box key files {installed}")
            continue
        if keys:
            problems.append(f"{host}: an S3 host got Storage Box key files {keys}")
        # By hand: the primary's outputs are backup_s3_*, the copy's backup_<region>_s3_* (provider plug-ins).
        remotes = [("backup", "backup")] + ([("backup_copy", f"backup_{b['copy_region']}")] if b.get("copy_bucket") else [])
        for remote, resource in remotes:
            got = (conf[remote]["access_key_id"], conf[remote]["secret_access_key"])
            if got != (stack[f"{resource}_s3_access_key"], stack[f"{resource}_s3_secret_key"]):
                problems.append(f"{host} [{remote}]: keys {got}, not the stack outputs {resource}_s3_access_key/_secret_key")
    assert problems == [] and r.returncode == 0, "\n".join(problems) + r.stdout[-1500:]


def test_tasks_that_touch_backup_secrets_log_nothing():
    """Every task whose arguments or template carry a credential is no_log; the presence checks
    loop over names only (quiet asserts), never values."""
    secret_templates = {"rclone.conf", "restic.env", "clawtex-backup-k8s-secret"}
    for task in yaml.safe_load(TASKS.read_text()) + yaml.safe_load((TASKS.parent / "kubernetes.yml").read_text()):
        text = json.dumps({k: v for k, v in task.items() if k not in ("name", "no_log", "loop_control")})
        carries = ("lookup(" in text and "env" in text) or "backup_tf_outputs" in text or \
            any(f in str(task.get("loop", "")) for f in secret_templates) or "clawtex-backup-k8s-secret" in text or "secret.yml" in text
        if not carries:
            continue
        if "ansible.builtin.assert" in task:
            assert task["ansible.builtin.assert"].get("quiet") is True, task["name"]
            assert re.fullmatch(r"\{\{ .*(backup_env|backup_output_names|backup_kind_env).* \}\}", str(task["loop"])), task["name"]
        else:
            assert task.get("no_log") is True, task["name"]


def test_no_workflow_or_apply_script_traces_its_commands():
    """`set -x` would print every expanded command, secrets included, to the log."""
    texts = [p.read_text() for p in sorted((REPO / ".github" / "workflows").glob("*.yml"))]
    texts += [p.read_text() for p in sorted((REPO / "scripts").rglob("*.sh"))]
    for text in texts:
        assert not re.search(r"^\s*set\s+(-[a-z]*x|-o\s+xtrace)", text, re.M)


def test_sensitive_outputs_are_masked_before_ansible_runs():
    """A Terraform output is no GitHub secret: the runner masks it only once told (`::add-mask::`,
    docs.github.com workflow commands, "Masking a value in a log"). lib.sh's write_outputs masks every
    sensitive output of the stack, line by line (a multi-line value is masked per line), before it writes
    the play's outputs file; every play that reads that file (apply-stack.sh, dr-drill.sh) calls it first."""
    lib = (REPO / "scripts" / "gitops" / "lib.sh").read_text()
    fn = lib[lib.index("write_outputs() {"):]
    fn = fn[:fn.index("\n}\n")]
    mask, written = fn.find("printf '::add-mask::"), fn.find('> "$tmp/tf-outputs.json"')
    assert 0 < mask < written, "write_outputs does not mask the sensitive outputs before writing the play's file"
    assert re.search(r"select\(\.sensitive\) \| \.value", fn[:written])
    plays = 0
    for name in ("apply-stack.sh", "dr-drill.sh"):
        script = (REPO / "scripts" / "gitops" / name).read_text()
        assert "source" in script and "lib.sh" in script, name
        for m in re.finditer(r'-e "@\$tmp/tf-outputs\.json"', script):
            plays += 1
            before = script[:m.start()]
            branch = before[before.rfind(";;") + 1:] if ";;" in before else before   # this case branch only
            assert re.search(r"^\s*write_outputs\s*$", branch, re.M), f"{name}: a play reads the outputs before write_outputs"
    assert plays >= 3