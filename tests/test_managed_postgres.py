"""Issue 24 item 1, Platinum: a customer's declared database is run and backed up, or refused.

customers/orbital-health.yaml (Platinum, DigitalOcean fra1 + ams3) declares `{engine: postgres,
name: triage}`. Nothing in a DOKS cluster runs a database: it is a DigitalOcean managed PostgreSQL
(providers/digitalocean.py _managed_postgres) that only the customer's two clusters may reach, and
its connection reaches the cluster as a Secret whose values never touch generated/. The dump and
restore with a real PostgreSQL: tests/test_backup_role.py::test_platinum_cronjob_backs_up_the_volume_
and_the_drill_restores_it_from_the_other_region. Every expectation below is written by hand from
the provider's schema (reference/terraform-providers/digitalocean.json, v2.99.1) and the customer file."""
from __future__ import annotations

import json

import pytest
import yaml

from conftest import REPO, run_clawtex

STACK = REPO / "generated" / "terraform" / "orbital-health" / "cdk.tf.json"


def _stack() -> dict:
    return json.loads(STACK.read_text())


def test_the_declared_database_is_a_managed_postgres_that_only_the_customers_clusters_reach():
    res = _stack()["resource"]
    [(cname, cluster)] = res["digitalocean_database_cluster"].items()
    # Primary region (regions[0]); one standby (node_count 2: the smallest plan cannot have one, so 2 GB).
    assert {k: cluster[k] for k in ("engine", "region", "node_count", "size", "name")} == {
        "engine": "pg", "region": "fra1", "node_count": 2, "size": "db-s-1vcpu-2gb", "name": "orbital-health-pg"}
    assert cluster["lifecycle"] == {"prevent_destroy": True}
    ref = f"${{digitalocean_database_cluster.{cname}.id}}"
    assert [(d["name"], d["cluster_id"], d["lifecycle"]) for d in res["digitalocean_database_db"].values()] == [
        ("triage", ref, {"prevent_destroy": True})]
    [user] = res["digitalocean_database_user"].values()
    assert (user["cluster_id"], user["name"]) == (ref, "orbital-health-gateway")
    # Trusted sources: exactly the customer's two DOKS clusters, by id (type k8s); nothing else.
    [fw] = res["digitalocean_database_firewall"].values()
    assert fw["cluster_id"] == ref
    assert sorted((r["type"], r["value"]) for r in fw["rule"]) == [
        ("k8s", "${digitalocean_kubernetes_cluster.k8s_ams3.id}"), ("k8s", "${digitalocean_kubernetes_cluster.k8s_fra1.id}")]
    assert set(res["digitalocean_kubernetes_cluster"]) == {"k8s_ams3", "k8s_fra1"}


def test_the_connection_leaves_terraform_as_outputs_and_reaches_the_cluster_as_a_secret_reference():
    outputs = _stack()["output"]
    by_hand = {"database_host": ("${digitalocean_database_cluster.postgres.host}", None),
               "database_port": ("${digitalocean_database_cluster.postgres.port}", None),
               "database_user": ("${digitalocean_database_user.postgres_gateway.name}", None),
               "database_password": ("${digitalocean_database_user.postgres_gateway.password}", True)}
    assert {k: (v["value"], v.get("sensitive")) for k, v in outputs.items() if k.startswith("database_")} == by_hand
    # No password is set in any resource: the provider generates the user's (computed, sensitive).
    for rtype in ("digitalocean_database_cluster", "digitalocean_database_user"):
        for attrs in _stack()["resource"][rtype].values():
            assert not {"password", "uri", "private_uri"} & set(attrs)
    for region in ("fra1", "ams3"):
        hv = yaml.safe_load((REPO / "generated" / "ansible" / "inventory" / "host_vars" / f"orbital-health-{region}.yml").read_text())
        # Names only: the Secret, the stack, which output fills which libpq variable.
        assert hv["clawtex_database"] == {"secret_name": "clawtex-database", "stack": "orbital-health",
                                          "outputs": {"PGHOST": "database_host", "PGPORT": "database_port",
                                                      "PGUSER": "database_user", "PGPASSWORD": "database_password"},
                                          "env": {"PGSSLMODE": "require"}}
        assert hv["backup"]["databases"] == [{"engine": "postgres", "name": "triage"}]
        # The dumps are in the snapshot: the inventory's dump directory (group vars) is among the paths.
        gv = _group_vars()
        assert gv["backup_dump_dir"] == "/var/backups/clawtex/db" and hv["backup_paths"][-1] == "/var/backups/clawtex/db"
    # The Secret manifest is rendered on the apply runner only; nothing under generated/ carries one.
    for path in (REPO / "generated").rglob("*"):
        if path.is_file() and path.suffix in (".yml", ".yaml", ".json"):
            assert "stringData" not in path.read_text(errors="replace"), path


def _group_vars() -> dict:
    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    return yaml.load((REPO / "generated" / "ansible" / "inventory" / "hosts.yml").read_text(), Loader)["all"]["vars"]


def test_the_dump_directory_is_written_in_one_place():
    """The backup script, the Platinum CronJob's mount, the snapshot paths and the DR drill all use the
    inventory's backup_dump_dir; the path itself is spelled once in the product (compiler/plan.py)."""
    spelled = [str(p.relative_to(REPO)) for top in ("compiler", "modules", "scripts", ".github")
               for p in sorted((REPO / top).rglob("*")) if p.is_file() and "__pycache__" not in p.parts
               and "/var/backups/clawtex/db" in p.read_text(errors="replace")]
    assert spelled == ["compiler/plan.py"], spelled
    assert _group_vars()["backup_dump_dir"] == "/var/backups/clawtex/db"
    defaults = yaml.safe_load((REPO / "modules" / "ansible" / "roles" / "backup" / "defaults" / "main.yml").read_text())
    assert "backup_dump_dir" not in defaults, "a role default would be a second place"


def test_the_gateway_reads_the_database_secret():
    text = (REPO / "modules" / "ansible" / "roles" / "openclaw" / "templates" / "openclaw-k8s.yml.j2").read_text()
    assert "{secretRef: {name: {{ clawtex_database.secret_name }}}}" in text


ORBITAL = (REPO / "customers" / "orbital-health.yaml").read_text()


@pytest.mark.parametrize("engine, message", [
    ("mongodb", "platinum runs in a Kubernetes cluster, where nothing runs or backs up MongoDB 'triage'"),
])
def test_a_database_nothing_runs_on_a_cluster_tier_is_refused_at_its_line(tmp_path, engine, message):
    from conftest import copy_repo
    repo = copy_repo(tmp_path / "repo")
    text = ORBITAL.replace("{engine: postgres, name: triage}", f"{{engine: {engine}, name: triage}}")
    assert text != ORBITAL
    (repo / "customers" / "orbital-health.yaml").write_text(text)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "name: triage" in l)
    r = run_clawtex(repo, "validate", str(repo / "customers" / "orbital-health.yaml"))
    assert r.returncode == 1
    assert f"customers/orbital-health.yaml:{line}:" in r.stderr and "spec.databases[0].engine: " + message in r.stderr, r.stderr


def test_postgres_where_the_provider_builds_no_managed_database_is_refused(monkeypatch):
    from compiler.load import Document
    from compiler.models import Customer
    from compiler.providers import plugin
    from compiler import validate as v
    from test_validate_by_hand import CATALOG, TIERS
    data = yaml.safe_load(ORBITAL)
    doc = Document("customers/orbital-health.yaml", data)
    assert [d for d in v.tier_rule_errors(Customer.model_validate(data), doc, TIERS, CATALOG)] == []
    monkeypatch.setattr(plugin("digitalocean"), "managed_postgres", False)
    assert [(d.path, d.message) for d in v.tier_rule_errors(Customer.model_validate(data), doc, TIERS, CATALOG)] == [
        ("spec.databases[0].engine", "platinum on digitalocean runs in a Kubernetes cluster, and no managed PostgreSQL "
                                     "is built there for 'triage': nothing would run or back it up")]


def test_dropping_the_declared_database_is_refused_without_a_human_approval(tmp_path):
    """The managed cluster and its database hold the customer's data (stateful `database` in
    tiers/replacement-facts.yaml): a customer file that stops declaring it would destroy both; the
    compile refuses, naming them, as for a volume."""
    from compiler.diagnostics import CompileError
    from compiler.pipeline import compile_repo
    from conftest import copy_repo
    repo = copy_repo(tmp_path / "repo")
    text = ORBITAL.replace("  databases:\n    - {engine: postgres, name: triage}\n", "")
    assert text != ORBITAL
    (repo / "customers" / "orbital-health.yaml").write_text(text)
    with pytest.raises(CompileError) as err:
        compile_repo(repo, use_cache=False)
    msg = str(err.value)
    assert "`digitalocean_database_cluster.postgres`" in msg and "`digitalocean_database_db.postgres_triage`" in msg, msg
    assert "replacementApprovals" in msg


def test_the_apply_stops_naming_a_missing_database_output(tmp_path):
    """The openclaw role's check before it renders the Secret (whose task is no_log: a missing output
    would fail there censored): every output clawtex_database names must be in clawtex_tf_outputs."""
    from test_ansible import INVENTORY, ROLES, ansible_env, run
    tasks = [t for t in yaml.safe_load((ROLES / "openclaw" / "tasks" / "kubernetes.yml").read_text())
             if t["name"] == "Database connection is in the stack's Terraform outputs"]
    assert len(tasks) == 1
    play = [{"hosts": "orbital-health-fra1", "connection": "local", "gather_facts": False, "tasks": tasks}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    # By hand: the four outputs of providers/digitalocean.py; the password left out.
    outputs = {"database_host": "h", "database_port": 25060, "database_user": "u", "database_password": "p"}
    env = ansible_env(tmp_path)
    for given, ok in ((outputs, True), ({k: v for k, v in outputs.items() if k != "database_password"}, False)):
        (tmp_path / "o.json").write_text(json.dumps({"clawtex_tf_outputs": {"orbital-health": given}}))
        r = run("ansible-playbook", "-i", str(INVENTORY), str(tmp_path / "play.yml"), "-e", f"@{tmp_path / 'o.json'}", env=env)
        assert (r.returncode == 0) is ok, r.stdout
        if not ok:
            assert "Terraform output database_password of stack orbital-health is not in clawtex_tf_outputs" in r.stdout


def test_a_database_added_to_a_platinum_customer_reaches_its_stack_through_the_incremental_compile(tmp_path):
    """compiler/incremental.py reuses a stack whose fingerprint is unchanged: `databases` must be in it
    now that digitalocean.py builds the managed PostgreSQL from them (was: in TERRAFORM_UNREAD, so a
    second compile kept the stale stack without the new database)."""
    from compiler.pipeline import compile_repo
    from conftest import copy_repo
    repo = copy_repo(tmp_path / "repo")
    first = json.loads(compile_repo(repo)["terraform/orbital-health/cdk.tf.json"])
    assert [d["name"] for d in first["resource"]["digitalocean_database_db"].values()] == ["triage"]
    path = repo / "customers" / "orbital-health.yaml"
    path.write_text(ORBITAL.replace("    - {engine: postgres, name: triage}\n",
                                    "    - {engine: postgres, name: triage}\n    - {engine: postgres, name: audit}\n"))
    second = json.loads(compile_repo(repo)["terraform/orbital-health/cdk.tf.json"])
    assert sorted(d["name"] for d in second["resource"]["digitalocean_database_db"].values()) == ["audit", "triage"]
