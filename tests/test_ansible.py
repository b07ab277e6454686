"""Ansible target: the inventory and roles, checked by Ansible's own tools.

- ansible-inventory reads generated/ansible/inventory and lists every host;
- ansible-playbook --syntax-check and ansible-lint (production profile) accept
  modules/ansible/;
- each host gets exactly the roles its tier promises (tiers/*.yaml read raw);
- customer text stays literal, secrets are names resolved by lookups.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from compiler.pipeline import plan_repo
from conftest import REPO, copy_repo, run_clawtex

INVENTORY = REPO / "generated" / "ansible" / "inventory"
ANSIBLE = REPO / "modules" / "ansible"
ROLES = ANSIBLE / "roles"
HOSTILE = "{{ lookup('pipe','id') }}"


def ansible_env(tmp: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp or "/tmp"), ANSIBLE_HOST_KEY_CHECKING="0",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    env.pop("ANSIBLE_CONFIG", None)
    return env


def run(*cmd: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env or ansible_env())


@lru_cache(maxsize=None)
def inventory_list(inventory: Path = INVENTORY) -> dict:
    result = run("ansible-inventory", "-i", str(inventory), "--list")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def hostvars() -> dict[str, dict]:
    return inventory_list()["_meta"]["hostvars"]


def raw(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


TIERS = {p.stem: raw(p)["spec"] for p in (REPO / "tiers").glob("*.yaml") if raw(p)["kind"] == "Tier"}
CUSTOMERS = {p.stem: raw(p) for p in (REPO / "customers").glob("*.yaml")}


# ---------------------------------------------------------------- the three tool checks


def test_ansible_inventory_lists_every_expected_host():
    plan = plan_repo(REPO)
    expected = {h.name for h in plan.hosts}
    listed = inventory_list()
    assert set(listed["_meta"]["hostvars"]) == expected
    assert len(expected) == 11          # 2 Platinum clusters, 3 Wazuh VMs, 4 dedicated, 2 shared Bronze hosts
    # A Platinum cluster is one control target per region, named like the cluster, never one per node
    # (the autoscaler names the nodes; nothing logs into them): reached through its API, from the runner.
    clusters = {h.name for h in plan.hosts if h.role == "k8s"}
    assert clusters == {"orbital-health-fra1", "orbital-health-ams3"}
    stack = json.loads((REPO / "generated" / "terraform" / "orbital-health" / "cdk.tf.json").read_text())
    assert {c["name"] for c in stack["resource"]["digitalocean_kubernetes_cluster"].values()} == clusters
    for name in clusters:
        hv = hostvars()[name]
        assert hv["ansible_connection"] == "local" and "clawtex_firewall_ports" not in hv
        kube = hv["openclaw_k8s_kubeconfig"]
        out = stack["output"][kube["output"]]
        assert out["sensitive"] is True and out["value"] == \
            f"${{digitalocean_kubernetes_cluster.k8s_{hv['clawtex_region']}.kube_config[0].raw_config}}"
    # No generated file names a node of ours (the names the inventory used to invent).
    for path in (REPO / "generated").rglob("*"):
        if path.is_file():
            assert not re.search(r"orbital-health-(fra1|ams3)-k8s-\d", path.read_text(errors="replace")), path
    groups = {g: set(v.get("hosts", [])) for g, v in listed.items() if g != "_meta"}
    for host in plan.hosts:
        for group in (host.role, f"tier_{host.tier}", f"provider_{host.provider}", f"region_{host.region.replace('-', '_')}"):
            assert host.name in groups[group], (host.name, group)
    # Bronze customers are containers on their shared host, not hosts.
    bronze = {cid for cid, c in CUSTOMERS.items() if c["spec"]["tier"] == "bronze"}
    containers = {c["customer"] for hv in hostvars().values() for c in hv.get("openclaw_containers", [])}
    assert containers == bronze and not bronze & set(listed["_meta"]["hostvars"])


def test_host_vars_files_hold_only_their_host():
    files = sorted((INVENTORY / "host_vars").glob("*.yml"))
    assert {f.stem for f in files} == set(hostvars())
    for f in files:
        text = f.read_text()
        others = [h for h in hostvars() if h != f.stem and re.search(rf"\b{re.escape(h)}\b", text)]
        # A node may name its customer's Wazuh manager; the Wazuh VM names the hosts it scans.
        allowed = {hostvars()[f.stem].get("wazuh_manager_host"), *hostvars()[f.stem].get("openvas_targets", [])}
        assert set(others) <= allowed, (f.name, others)


def test_playbook_syntax_check():
    result = run("ansible-playbook", "--syntax-check", "-i", str(INVENTORY), str(ANSIBLE / "site.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_ansible_lint_production_profile():
    result = run("ansible-lint", "--offline", "-f", "pep8", cwd=ANSIBLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Profile 'production' was required, and it passed" in result.stderr


# ---------------------------------------------------------------- roles per tier


def promised_roles(host: str, hv: dict) -> set[str]:
    """What tiers/*.yaml promises this host, read straight from the tier data."""
    tier = TIERS[hv["clawtex_tier"]]
    customer = CUSTOMERS.get(hv.get("clawtex_customer", ""), {}).get("spec", {})
    if hv["clawtex_role"] == "k8s":
        # A managed cluster: only what acts through its API (manifests, node_exporter's DaemonSet, the
        # certificate). Platinum's backups and Wazuh agent are NOT kept on a cluster yet: they ran on
        # invented node hosts until 2026-12-03 (docs/fresh-account.md "Platinum clusters").
        # backup: a CronJob on the gateway's volume (roles/backup tasks/kubernetes.yml).
        return ({"node_exporter", "openclaw"} | ({"tls"} if tier["customDomain"] and customer.get("customDomain") else set())
                | ({"backup"} if tier["backups"] else set()))
    roles = {"hardening", "node_exporter"}
    if hv["clawtex_role"] == "wazuh_manager":
        # The manager VM lays out what clawtex compiled for it (generated/wazuh/); where the tier has
        # backups, its agent registry and alert history are backed up too (docs/backups.md "The Wazuh VM").
        return (roles | {"wazuh_manager"} | ({"openvas"} if tier["openvas"] else set())
                | ({"backup"} if tier["backups"] else set()))
    roles |= {"openclaw", "smoke_test"}
    if hv["clawtex_role"] == "shared_bronze":      # the only hosts whose gateways run in containers
        roles.add("container_runtime")
    if tier["backups"]:
        roles.add("backup")
    if tier["customDomain"] and customer.get("customDomain"):
        roles.add("tls")
    if tier["siem"]["wazuh"]:
        roles.add("wazuh_agent")
    return roles


def test_every_host_gets_exactly_the_roles_its_tier_promises():
    seen_tiers = set()
    for host, hv in hostvars().items():
        assert set(hv["clawtex_roles"]) == promised_roles(host, hv), host
        assert len(hv["clawtex_roles"]) == len(set(hv["clawtex_roles"]))
        seen_tiers.add(hv["clawtex_tier"])
    assert seen_tiers == set(TIERS)
    # Spot checks that would catch a wrong reading of the tier data above.
    assert hostvars()["orbital-health-fra1"]["clawtex_roles"] == ["node_exporter", "openclaw", "tls", "backup"]
    assert "container_runtime" not in hostvars()["mapleleaf-dental-oc-1"]["clawtex_roles"]
    assert "container_runtime" in hostvars()["shared-hetzner-fsn1-01"]["clawtex_roles"]
    assert "backup" not in hostvars()["shared-hetzner-fsn1-01"]["clawtex_roles"]
    assert {"wazuh_agent", "tls", "backup"} <= set(hostvars()["acme-logistics-oc-1"]["clawtex_roles"])


def site_roles() -> list[dict]:
    return raw(ANSIBLE / "site.yml")[0]["roles"]


def test_site_yml_applies_each_role_only_where_listed():
    entries = site_roles()
    assert {e["role"] for e in entries} == {p.name for p in ROLES.iterdir() if p.is_dir()}
    for e in entries:
        assert e["when"] == f"'{e['role']}' in clawtex_roles"


def test_backup_schedule_and_retention_follow_the_tier():
    for host, hv in hostvars().items():
        if "backup" not in hv["clawtex_roles"]:
            continue
        b = TIERS[hv["clawtex_tier"]]["backups"]
        assert hv["backup"]["retention_days"] == b["retentionDays"]
        assert hv["backup"]["on_calendar"] == ("daily" if b["intervalHours"] == 24 else "*-*-* 00/1:00:00")
        assert bool(hv["backup"]["copy_bucket"]) == b["crossRegion"], host
        if hv.get("openclaw_mode") == "kubernetes":
            # The CronJob's cron form of the same interval (hourly: minute 0 of every hour), by hand.
            assert hv["backup"]["schedule"] == {1: "0 * * * *", 24: "0 0 * * *"}[b["intervalHours"]], host
    # The other intervals, by hand: systemd `00/6:00:00` is 00, 06, 12, 18 h; `daily` is 00:00.
    from compiler.targets.ansible import cron_schedule, on_calendar
    assert [(on_calendar(h), cron_schedule(h)) for h in (1, 6, 24)] == [
        ("*-*-* 00/1:00:00", "0 * * * *"), ("*-*-* 00/6:00:00", "0 */6 * * *"), ("daily", "0 0 * * *")]
    script = (ROLES / "backup" / "templates" / "clawtex-backup.sh.j2").read_text()
    assert "clawtex_backup_last_success_timestamp_seconds{" in script


# ---------------------------------------------------------------- customer text and secrets


def test_hostile_display_name_stays_literal(tmp_path):
    root = copy_repo(tmp_path / "repo")
    for cid in ("acme-logistics", "pixel-bakery"):
        path = root / "customers" / f"{cid}.yaml"
        text = re.sub(r"displayName: .*", f"displayName: \"{HOSTILE}\"", path.read_text(), count=1)
        path.write_text(text)
    result = run_clawtex(root, "compile")
    assert result.returncode == 0, result.stderr
    inventory = root / "generated" / "ansible" / "inventory"
    for host, var in (("acme-logistics-oc-1", "clawtex_display_name"), ("shared-hetzner-fsn1-01", "openclaw_containers")):
        out = run("ansible", "-i", str(inventory), host, "-m", "ansible.builtin.debug", "-a", f"var={var}",
                  "-e", "ansible_connection=local", env=ansible_env(tmp_path))
        assert out.returncode == 0, out.stdout + out.stderr
        assert HOSTILE in out.stdout, out.stdout
        assert "uid=" not in out.stdout


def test_secrets_are_names_never_values():
    for cid, customer in CUSTOMERS.items():
        refs = [v for ch in customer["spec"]["channels"] for v in ch.values() if isinstance(v, dict)]
        refs += [e["apiKey"] for e in customer["spec"].get("modelEndpoints", [])]
        env = sorted({r["id"] for r in refs if r["source"] == "env"})
        files = sorted({(r.get("provider", "default"), r["id"]) for r in refs if r["source"] == "file"})
        entry = next((c for hv in hostvars().values() for c in hv.get("openclaw_containers", []) if c["customer"] == cid), None)
        if entry is None:
            hv = next(hv for hv in hostvars().values() if hv.get("clawtex_customer") == cid and "openclaw" in hv["clawtex_roles"])
            entry = {k.removeprefix("openclaw_"): v for k, v in hv.items() if k.startswith("openclaw_")}
        assert entry["secret_env"] == env, cid
        assert sorted((f["provider"], f["id"]) for f in entry["secret_files"]) == files, cid
        assert re.fullmatch(r"CLAWTEX_[A-Z0-9_]+_GATEWAY_TOKEN", entry["gateway_token_env"])


SECRETS_PLAY = """\
- name: Render one gateway's secrets
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    openclaw_controller_secrets_dir: "{secrets}"
    openclaw_secrets_names:
      gateway_token_env: T_GATEWAY
      secret_env: [T_SLACK]
      secret_files:
        - {{provider: vault, id: orbital/slack-bot-token, path: [orbital, slack-bot-token]}}
        - {{provider: vault, id: orbital/llm/key, path: [orbital, llm, key]}}
  tasks:
    - name: Env file
      ansible.builtin.template: {{src: "{role}/templates/gateway.env.j2", dest: "{out}/gateway.env", mode: "0600"}}
    - name: Provider file
      ansible.builtin.template: {{src: "{role}/templates/secret-provider.json.j2", dest: "{out}/vault.json", mode: "0600"}}
      vars: {{openclaw_provider: vault}}
"""


def test_secret_templates_resolve_refs_with_lookups_at_apply_time(tmp_path):
    secrets, out = tmp_path / "secrets", tmp_path / "out"
    (secrets / "vault" / "orbital" / "llm").mkdir(parents=True)
    out.mkdir()
    (secrets / "vault" / "orbital" / "slack-bot-token").write_text("xoxb-test\n")
    (secrets / "vault" / "orbital" / "llm" / "key").write_text("sk-test")
    play = tmp_path / "play.yml"
    play.write_text(SECRETS_PLAY.format(secrets=secrets, role=ROLES / "openclaw", out=out))
    env = dict(ansible_env(tmp_path), T_GATEWAY="Xk9 #pa$(id -un)'\"`x\\", T_SLACK="{{ not templated }}")
    result = run("ansible-playbook", "-i", "localhost,", str(play), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in (out / "gateway.env").read_text().splitlines() if not line.startswith("#")]
    # systemd.exec(5) EnvironmentFile=: double quotes keep spaces and '#'; \ " $ ` are backslash-escaped.
    # (Unquoted, `. gateway.env` cut this token at the space and ran `id`.) The live hosts suite reads
    # the file back through systemd itself.
    assert lines == ['OPENCLAW_GATEWAY_TOKEN="Xk9 #pa\\$(id -un)\'\\"\\`x\\\\"', 'T_SLACK="{{ not templated }}"']
    # The JSON pointers openclaw.json uses (/orbital/slack-bot-token) find the values.
    assert json.loads((out / "vault.json").read_text()) == {"orbital": {"slack-bot-token": "xoxb-test", "llm": {"key": "sk-test"}}}


@pytest.mark.parametrize("path", sorted((REPO / "generated" / "ansible").rglob("*.yml")), ids=lambda p: p.name)
def test_generated_inventory_holds_no_lookup_or_template_of_its_own(path):
    # Customer text is !unsafe; the inventory itself never asks Ansible to evaluate anything.
    text = path.read_text()
    templated = [line for line in text.splitlines() if ("{{" in line or "{%" in line) and "!unsafe" not in line]
    assert templated == []


RENDER_PLAY = """\
- name: Render the roles' templates for real inventory hosts
  hosts: shared-hetzner-fsn1-01,acme-logistics-oc-1,orbital-health-fra1
  connection: local
  gather_facts: false
  vars_files:
    - {roles}/openclaw/defaults/main.yml
    - {roles}/backup/defaults/main.yml
    - {roles}/node_exporter/defaults/main.yml
  vars:
    # role defaults rank below host_vars (container_runtime_engine); vars_files would rank above
    container_runtime_base_image: "{{{{ (lookup('file', '{roles}/container_runtime/defaults/main.yml') | from_yaml).container_runtime_base_image }}}}"
    clawtex_textfile_dir: /var/lib/prometheus/node-exporter
    clawtex_container_limits: true
    smoke_test_gateways: []
    out: {out}
  tasks:
    - name: Reverse proxy
      ansible.builtin.template: {{src: "{roles}/openclaw/templates/nginx-openclaw.conf.j2", dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}-nginx.conf", mode: "0600"}}
      when: openclaw_mode != 'kubernetes'
    - name: Container units
      ansible.builtin.template:
        src: "{roles}/openclaw/templates/openclaw-container.service.j2"
        dest: "{{{{ out }}}}/{{{{ openclaw_tenant.customer }}}}.service"
        mode: "0600"
      loop: "{{{{ openclaw_containers | default([]) }}}}"
      loop_control: {{loop_var: openclaw_tenant}}
    - name: Backup script
      ansible.builtin.template: {{src: "{roles}/backup/templates/clawtex-backup.sh.j2", dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}-backup.sh", mode: "0600"}}
      when: backup is defined and openclaw_mode != 'kubernetes'
    - name: Backup script of a cluster (host_vars' paths, which the vars_files above would outrank; site.yml's role defaults do not)
      ansible.builtin.template: {{src: "{roles}/backup/templates/clawtex-backup.sh.j2", dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}-backup.sh", mode: "0600"}}
      when: openclaw_mode == 'kubernetes'
      vars:
        backup_paths: "{{{{ (lookup('file', inventory_dir ~ '/host_vars/' ~ inventory_hostname ~ '.yml') | from_yaml).backup_paths }}}}"
        backup_excludes: "{{{{ (lookup('file', inventory_dir ~ '/host_vars/' ~ inventory_hostname ~ '.yml') | from_yaml).backup_excludes }}}}"
    - name: Kubernetes manifests
      ansible.builtin.template: {{src: "{roles}/openclaw/templates/openclaw-k8s.yml.j2", dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}-k8s.yml", mode: "0600"}}
      when: openclaw_mode == 'kubernetes'
    - name: Backup CronJob and its Secret (a cluster)
      ansible.builtin.template: {{src: "{roles}/backup/templates/clawtex-backup-k8s{{{{ item }}}}.yml.j2", dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}-backup{{{{ item }}}}.yml", mode: "0600"}}
      loop: ["", "-secret"]
      when: openclaw_mode == 'kubernetes'
    - name: node_exporter DaemonSet
      ansible.builtin.template: {{src: "{roles}/node_exporter/templates/node-exporter-k8s.yml.j2", dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}-node-exporter.yml", mode: "0600"}}
      when: openclaw_mode == 'kubernetes'
    - name: Handoff report
      ansible.builtin.template: {{src: "{roles}/smoke_test/templates/handoff.md.j2", dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}-handoff.md", mode: "0600"}}
    - name: Channel status unit of a tenant container
      ansible.builtin.template:
        src: "{roles}/openclaw/templates/clawtex-channel-status.service.j2"
        dest: "{{{{ out }}}}/{{{{ channel_status.name }}}}-channel-status.service"
        mode: "0600"
      vars:
        channel_status:
          name: "{{{{ openclaw_tenant.customer }}}}"
          customer: "{{{{ openclaw_tenant.customer }}}}"
          config: "/srv/openclaw/{{{{ openclaw_tenant.customer }}}}/config/openclaw.json"
          command: ["/usr/bin/{{{{ openclaw_container_engine }}}}", exec, "openclaw-{{{{ openclaw_tenant.customer }}}}", openclaw, health, --json]
      loop: "{{{{ openclaw_containers | default([]) }}}}"
      loop_control: {{loop_var: openclaw_tenant}}
    - name: Gateway image build file
      ansible.builtin.template: {{src: "{roles}/openclaw/templates/Containerfile.j2", dest: "{{{{ out }}}}/{{{{ inventory_hostname }}}}-Containerfile", mode: "0600"}}
      when: openclaw_mode == 'containers'
"""


def test_role_templates_render_for_each_hosting_model(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    play = tmp_path / "render.yml"
    play.write_text(RENDER_PLAY.format(roles=ROLES, out=out))
    # The stack outputs scripts/gitops/apply-stack.sh hands to the play (a file, never argv).
    outputs = tmp_path / "tf-outputs.json"
    lb_ids = {"fra1_lb_id": "11111111-aaaa-4bbb-8ccc-000000000001", "ams3_lb_id": "11111111-aaaa-4bbb-8ccc-000000000002"}
    keys = {"backup_s3_access_key": "FRA1-ACCESS", "backup_s3_secret_key": "FRA1-SECRET",
            "backup_ams3_s3_access_key": "AMS3-ACCESS", "backup_ams3_s3_secret_key": "AMS3-SECRET"}
    outputs.write_text(json.dumps({"clawtex_tf_outputs": {"orbital-health": {**lb_ids, **keys}}}))
    env = {**ansible_env(tmp_path), "CLAWTEX_ORBITAL_HEALTH_RESTIC_PASSWORD": 'pw "with" $quotes'}
    result = run("ansible-playbook", "-i", str(INVENTORY), str(play), "-e", f"@{outputs}", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    # Platinum: the gateway Service adopts the load balancer Terraform created (its id from the
    # outputs), so the cloud controller creates none (digitalocean-cloud-controller-manager
    # docs/getting-started.md "Load-balancer ID annotations").
    service = [d for d in yaml.safe_load_all((out / "orbital-health-fra1-k8s.yml").read_text()) if d and d["kind"] == "Service"]
    assert service[0]["metadata"]["annotations"]["kubernetes.digitalocean.com/load-balancer-id"] == lb_ids["fra1_lb_id"]
    # Bronze: one location and one container unit per tenant, with the tier's limits.
    nginx = (out / "shared-hetzner-fsn1-01-nginx.conf").read_text()
    for tenant in hostvars()["shared-hetzner-fsn1-01"]["openclaw_containers"]:
        assert f"location /{tenant['customer']}/ {{\n        proxy_pass http://127.0.0.1:{tenant['port']}/;" in nginx
        unit = (out / f"{tenant['customer']}.service").read_text()
        assert f"--cpus {tenant['cpus']} --memory {tenant['memory']}" in unit
        # Bronze runs on podman (tiers/bronze.yaml): its own network namespace through slirp4netns,
        # nginx's source address kept (the gateway's trustedProxies), no host bridge.
        assert "/usr/bin/podman run --rm" in unit
        assert "--network slirp4netns:port_handler=slirp4netns" in unit
        assert f"--publish 127.0.0.1:{tenant['port']}:18789" in unit
        status = (out / f"{tenant['customer']}-channel-status.service").read_text()
        assert (f"--customer {tenant['customer']} --config /srv/openclaw/{tenant['customer']}/config/openclaw.json "
                f"\\\n  --out /var/lib/prometheus/node-exporter/openclaw_channels_{tenant['customer']}.prom "
                f"-- /usr/bin/podman exec openclaw-{tenant['customer']} openclaw health --json") in status
    # No image registry: the gateway image starts from the local Debian base image.
    containerfile = (out / "shared-hetzner-fsn1-01-Containerfile").read_text()
    assert "FROM localhost/clawtex/debian:bookworm\n" in containerfile and "docker.io" not in containerfile
    # Backup scripts are valid bash, dump the customer's databases, copy cross-region on Platinum only.
    # (Platinum's cross-region copy: tests/test_backup_role.py, on the plan's destinations.)
    for host in ("acme-logistics-oc-1",):
        script = out / f"{host}-backup.sh"
        assert run("bash", "-n", str(script)).returncode == 0
        assert "pg_dump" in script.read_text()
        assert "--exclude=/etc/openclaw/secrets" in script.read_text()
        assert "copy --from-repo" not in script.read_text()
    docs = list(yaml.safe_load_all((out / "orbital-health-fra1-k8s.yml").read_text()))
    assert [d["kind"] for d in docs] == ["Namespace", "PersistentVolumeClaim", "Deployment", "Service"]
    _check_gateway_manifest(docs, "orbital-health", "fra1")
    _check_backup_cronjob(out, docs, "orbital-health", "fra1")
    _check_node_exporter_daemonset(list(yaml.safe_load_all((out / "orbital-health-fra1-node-exporter.yml").read_text())),
                                   "orbital-health", "fra1")
    assert "ACME Logistics GmbH" in (out / "acme-logistics-oc-1-handoff.md").read_text()


def _check_gateway_manifest(docs: list[dict], customer: str, region: str) -> None:
    """The rendered manifest joined with the customer's Terraform stack: the Service is
    of type LoadBalancer and names, through DigitalOcean's annotation, the load balancer
    Terraform looks up in that region, listening where the global load balancer sends
    traffic (issue 16 item 5). One active gateway: a single replica replaced with
    Recreate (OpenClaw lets one gateway own a state directory)."""
    # Every object valid for the cluster's Kubernetes minor (the DOKS prefix of
    # tiers/providers.yaml), strict: an unknown field is an error, as the API server's
    # strict field validation makes it (kubernetes-validate vendors the OpenAPI schemas).
    import kubernetes_validate
    prefix = yaml.safe_load((REPO / "tiers" / "providers.yaml").read_text())["spec"]["digitalocean"]["kubernetesVersionPrefix"]
    for doc in docs:
        kubernetes_validate.validate(doc, prefix.rstrip("."), strict=True)
    deployment, service = docs[2], docs[3]
    stack = json.loads((REPO / "generated" / "terraform" / customer / "cdk.tf.json").read_text())
    looked_up = stack["resource"]["digitalocean_loadbalancer"][f"lb_{region}"]["name"]     # Terraform creates it, the Service adopts it
    glb = stack["resource"]["digitalocean_loadbalancer"]["global"]["glb_settings"][0]
    annotations = service["metadata"]["annotations"]
    assert service["spec"]["type"] == "LoadBalancer"
    # Annotation names: digitalocean-cloud-controller-manager docs/controllers/services/annotations.md.
    assert annotations["service.beta.kubernetes.io/do-loadbalancer-name"] == looked_up
    assert annotations["service.beta.kubernetes.io/do-loadbalancer-protocol"] == glb["target_protocol"]
    # The adopted load balancer's type, on both sides: an HTTP (REGIONAL) load balancer. Without
    # the annotation DigitalOcean's controller builds requests for REGIONAL_NETWORK, its default
    # (digitalocean-cloud-controller-manager @70d527e do/cloud.go, do/loadbalancers.go getType;
    # tiers/provider-facts.md row 37).
    lb = stack["resource"]["digitalocean_loadbalancer"][f"lb_{region}"]
    assert annotations["service.beta.kubernetes.io/do-loadbalancer-type"] == lb["type"] == "REGIONAL"
    [port] = service["spec"]["ports"]
    assert port["port"] == glb["target_port"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert port["targetPort"] == container["ports"][0]["containerPort"]
    assert annotations["service.beta.kubernetes.io/do-loadbalancer-healthcheck-path"] == \
        container["readinessProbe"]["httpGet"]["path"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"] == {"type": "Recreate"}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] == container["ports"][0]["containerPort"]

    # Issue 24: the gateway's state on a volume that survives the pod, the node and a deleted claim.
    pvc = docs[1]
    # csi-digitalocean v4.19.0 driver.yaml: do-block-storage-retain, reclaimPolicy Retain; block storage is RWO only.
    assert pvc["spec"]["storageClassName"] == "do-block-storage-retain"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "160Gi"        # tiers/platinum.yaml diskGb, by hand
    pod = deployment["spec"]["template"]["spec"]
    assert not [v for v in pod["volumes"] if "hostPath" in v], "DOKS nodes hold nothing of ours"
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    # The hosts' paths (group_vars all, by hand), on the claim.
    for path, sub in (("/var/lib/openclaw/.openclaw", "state"), ("/var/lib/openclaw/workspace", "workspace")):
        assert volumes[mounts[path]["name"]]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
        assert mounts[path]["subPath"] == sub
    assert {"name": "OPENCLAW_STATE_DIR", "value": "/var/lib/openclaw/.openclaw"} in container["env"]
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsUser"]
    # Skills: an emptyDir the init container fills from the ConfigMap's archive.
    assert "emptyDir" in volumes[mounts["/var/lib/openclaw/skills"]["name"]]
    [init] = pod["initContainers"]
    assert init["command"] == ["tar", "--strip-components=1", "-xzf", "/archive/skills.tar.gz", "-C", "/var/lib/openclaw/skills"]
    archive = next(m for m in init["volumeMounts"] if m["mountPath"] == "/archive")
    assert volumes[archive["name"]]["configMap"]["name"] == "openclaw-skills"


def _check_backup_cronjob(out: Path, gateway: list[dict], customer: str, region: str) -> None:
    """The CronJob that backs up the gateway's volume (issue 24, Platinum), joined with the Deployment
    it sits beside and the Secret it reads: valid for the cluster's minor, strict."""
    import kubernetes_validate
    prefix = yaml.safe_load((REPO / "tiers" / "providers.yaml").read_text())["spec"]["digitalocean"]["kubernetesVersionPrefix"]
    [cron] = list(yaml.safe_load_all((out / f"{customer}-{region}-backup.yml").read_text()))
    [secret] = list(yaml.safe_load_all((out / f"{customer}-{region}-backup-secret.yml").read_text()))
    for doc in (cron, secret):
        kubernetes_validate.validate(doc, prefix.rstrip("."), strict=True)
    deployment = gateway[2]
    # Hourly (tiers/platinum.yaml intervalHours 1), in cron syntax, UTC; never two at once.
    assert cron["spec"]["schedule"] == "0 * * * *" and cron["spec"]["timeZone"] == "Etc/UTC"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid" and cron["spec"]["suspend"] is False
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    # Same node as the gateway pod (the volume is ReadWriteOnce).
    [term] = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert term["labelSelector"]["matchLabels"] == {"app": "openclaw-gateway"}
    [c] = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    for path in ("/var/lib/openclaw/.openclaw", "/var/lib/openclaw/workspace"):
        assert volumes[mounts[path]["name"]]["persistentVolumeClaim"]["claimName"] == "openclaw-state"
        assert mounts[path]["readOnly"] is True
    # The hosts' script, its paths the volume's; its own repository per cluster, copied to ams3.
    script = (out / f"{customer}-{region}-backup.sh").read_text()
    assert run("bash", "-n", str(out / f"{customer}-{region}-backup.sh")).returncode == 0
    assert (f"--host {customer}-{region} --exclude=/var/lib/openclaw/.openclaw/tmp --exclude=/var/lib/openclaw/.openclaw/cache "
            "/var/lib/openclaw/.openclaw /var/lib/openclaw/workspace /var/backups/clawtex/db\n") in script
    # orbital-health's `triage`, from its managed PostgreSQL (the CronJob's PG* env: the Secret clawtex-database).
    assert "--keep-within 30d" in script and "copy --from-repo" in script
    assert "pg_dump --format=custom triage >/var/backups/clawtex/db/triage.pgdump" in script
    assert mounts["/usr/local/sbin/clawtex-backup"]["subPath"] == "clawtex-backup"
    # Credentials: by reference to the Secret, never a value in the CronJob.
    env = {e["name"]: e for e in c["env"]}
    for name in ("RESTIC_PASSWORD", "RESTIC_REPOSITORY", "CLAWTEX_COPY_REPOSITORY", "RESTIC_FROM_PASSWORD"):
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": secret["metadata"]["name"], "key": name}
    assert "FRA1-SECRET" not in (out / f"{customer}-{region}-backup.yml").read_text()
    data = secret["stringData"]
    assert data["RESTIC_PASSWORD"] == data["RESTIC_FROM_PASSWORD"] == 'pw "with" $quotes'
    assert data["RESTIC_REPOSITORY"] == f"rclone:backup:clawtex-{customer}-backup/restic-{region}"
    assert data["CLAWTEX_COPY_REPOSITORY"] == f"rclone:backup_copy:clawtex-{customer}-backup-ams3/restic-{region}"
    assert "access_key_id = AMS3-ACCESS" in data["rclone.conf"] and "endpoint = https://ams3.digitaloceanspaces.com" in data["rclone.conf"]
    assert env["RCLONE_CONFIG"]["value"] == mounts["/etc/clawtex/backup/rclone.conf"]["mountPath"]


def _check_node_exporter_daemonset(docs: list[dict], customer: str, region: str) -> None:
    """The DaemonSet Ansible applies to a Platinum cluster, joined with what expects it: the port the
    generated discovery job (prometheus.yml node-k8s-digitalocean) scrapes and the port the cluster's
    scrape firewall (Terraform nodes_scrape_fw_<region>) opens are the port it listens on, on the
    node's own network (hostNetwork: the discovered address is the Droplet's). Without it every
    discovered node target is down. Valid for the cluster's Kubernetes minor, strict."""
    import kubernetes_validate
    prefix = yaml.safe_load((REPO / "tiers" / "providers.yaml").read_text())["spec"]["digitalocean"]["kubernetesVersionPrefix"]
    for doc in docs:
        kubernetes_validate.validate(doc, prefix.rstrip("."), strict=True)
    assert [d["kind"] for d in docs] == ["Namespace", "DaemonSet"]
    namespace, ds = docs
    assert ds["metadata"]["namespace"] == namespace["metadata"]["name"]
    pod = ds["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and pod["hostPID"] is True
    assert {"operator": "Exists"} in pod["tolerations"]     # every node, whatever its pool's taints
    [container] = pod["containers"]
    # A pinned release tag, never latest or a floating tag.
    repo, tag = container["image"].rsplit(":", 1)
    assert repo == "quay.io/prometheus/node-exporter" and re.fullmatch(r"v\d+\.\d+\.\d+", tag), container["image"]
    [port] = container["ports"]
    assert port["containerPort"] == port["hostPort"]
    assert f"--web.listen-address=:{port['containerPort']}" in container["args"]
    assert container["readinessProbe"]["httpGet"]["port"] == port["containerPort"]
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    # Host mounts: read-only, each one backed by a hostPath.
    host_paths = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
    assert {m["name"] for m in container["volumeMounts"]} == set(host_paths)
    assert all(m["readOnly"] is True for m in container["volumeMounts"])
    # The join: Prometheus's discovery job and the cluster's scrape firewall.
    prom = yaml.safe_load((REPO / "generated" / "prometheus" / "prometheus.yml").read_text())
    [job] = [j for j in prom["scrape_configs"] if j["job_name"] == "node-k8s-digitalocean"]
    assert [sd["port"] for sd in job["digitalocean_sd_configs"]] == [port["containerPort"]]
    stack = json.loads((REPO / "generated" / "terraform" / customer / "cdk.tf.json").read_text())
    fw = stack["resource"]["digitalocean_firewall"][f"nodes_scrape_fw_{region}"]
    assert [(r["port_range"], r["protocol"]) for r in fw["inbound_rule"]] == [(str(port["containerPort"]), port["protocol"].lower())]


CHANNELS_PLAY = """\
- name: Channel check of the smoke test
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    smoke_test_channels:
      results:
        - item: [18790, {{customer: demo, channels: [discord, telegram{extra}], channels_unlinked: [{unlinked}]}}]
          stdout: '{health}'
  tasks:
    - name: Check
      ansible.builtin.include_tasks: {role}/tasks/channels.yml
"""


@pytest.mark.parametrize("telegram, ok", [(True, True), (False, False)])
def test_smoke_test_fails_when_a_channel_is_not_connected(tmp_path, telegram, ok):
    # The shape of `openclaw health --json`: channels.<id>.connected.
    health = json.dumps({"ok": True, "channels": {"discord": {"connected": True}, "telegram": {"connected": telegram}}})
    play = tmp_path / "channels.yml"
    play.write_text(CHANNELS_PLAY.format(health=health, role=ROLES / "smoke_test", extra="", unlinked=""))
    result = run("ansible-playbook", "-i", "localhost,", str(play), env=ansible_env(tmp_path))
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    if not ok:
        assert "demo: channels not connected: telegram" in result.stdout


@pytest.mark.parametrize("linked_in_file, whatsapp, ok", [
    (False, {"configured": True, "statusState": "not-linked"}, True),     # awaiting its QR code, as the file says
    (False, {"configured": False}, False),                                 # not even loaded: refused
    (True, {"configured": True, "statusState": "not-linked"}, False),     # the file says linked: it must connect
    (True, {"configured": True, "connected": True}, True),
])
def test_smoke_test_waits_only_for_channels_the_file_says_are_linked(tmp_path, linked_in_file, whatsapp, ok):
    """Issue 25 "Bad input": WhatsApp/Signal are linked by hand on the host after the gateway runs.
    `linked: false` (host var channels_unlinked) lets the apply pass with the channel loaded but
    not connected; every other channel, and a linked one, must be connected."""
    health = json.dumps({"ok": True, "channels": {"discord": {"connected": True}, "telegram": {"connected": True},
                                                  "whatsapp": whatsapp}})
    play = tmp_path / "channels.yml"
    play.write_text(CHANNELS_PLAY.format(health=health, role=ROLES / "smoke_test", extra=", whatsapp",
                                         unlinked="" if linked_in_file else "whatsapp"))
    result = run("ansible-playbook", "-i", "localhost,", str(play), env=ansible_env(tmp_path))
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    if not ok:
        assert ("awaiting their link but not configured: whatsapp" if not linked_in_file
                else "channels not connected: whatsapp") in result.stdout


def test_unlinked_channels_reach_the_smoke_test_from_the_customer_file():
    """customers/mapleleaf-dental.yaml says `linked: false` under its whatsapp channel (by hand)."""
    hv = hostvars()["mapleleaf-dental-oc-1"]
    assert hv["openclaw_channels"] == ["telegram", "whatsapp"] and hv["openclaw_channels_unlinked"] == ["whatsapp"]
    main = (ROLES / "smoke_test" / "tasks" / "main.yml").read_text()
    assert "'channels_unlinked': openclaw_channels_unlinked" in main


def test_container_runtime_comes_from_the_tier_and_matches_the_gateways_proxy_trust():
    """tiers/bronze.yaml hosting.containerRuntime -> host_vars container_runtime_engine of every
    shared host, and each tenant's gateway trusts the address that runtime's proxy traffic
    comes from (docker: docker0 bridge gateway, Docker docs "Bridge network driver";
    podman with slirp4netns: its gateway 10.0.2.2, slirp4netns(1))."""
    proxy_source = {"docker": ["172.17.0.1"], "podman": ["10.0.2.2"]}
    tier = yaml.safe_load((REPO / "tiers" / "bronze.yaml").read_text())["spec"]["hosting"]["containerRuntime"]
    shared = {h: hv for h, hv in hostvars().items() if hv.get("clawtex_role") == "shared_bronze"}
    assert shared
    for host, hv in shared.items():
        assert hv["container_runtime_engine"] == tier, host
        for tenant in hv["openclaw_containers"]:
            config = json.loads((REPO / "generated" / tenant["config_file"]).read_text())
            assert config["gateway"]["trustedProxies"] == proxy_source[tier], tenant["customer"]
    assert not any("container_runtime_engine" in hv for h, hv in hostvars().items() if h not in shared)


def test_switching_the_tier_to_docker_changes_host_vars_and_proxy_trust(tmp_path):
    repo = copy_repo(tmp_path)
    tier = repo / "tiers" / "bronze.yaml"
    tier.write_text(tier.read_text().replace("containerRuntime: podman", "containerRuntime: docker"))
    result = run_clawtex(repo, "compile")
    assert result.returncode == 0, result.stderr
    hv = yaml.safe_load((repo / "generated/ansible/inventory/host_vars/shared-hetzner-fsn1-01.yml").read_text())
    assert hv["container_runtime_engine"] == "docker"
    config = json.loads((repo / "generated/openclaw/pixel-bakery/openclaw.json").read_text())
    assert config["gateway"]["trustedProxies"] == ["172.17.0.1"]


@pytest.mark.parametrize("tier, edit, message", [
    ("bronze", ("    containerRuntime: podman\n", ""), "containerRuntime (docker or podman) is required for shared hosting"),
    ("silver", ("    haModes: []\n", "    haModes: []\n    containerRuntime: podman\n"), "containerRuntime applies to shared hosting only"),
    ("bronze", ("containerRuntime: podman", "containerRuntime: lxc"), "containerRuntime"),
])
def test_container_runtime_is_validated(tmp_path, tier, edit, message):
    repo = copy_repo(tmp_path)
    path = repo / "tiers" / f"{tier}.yaml"
    text = path.read_text()
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1], 1))
    result = run_clawtex(repo, "validate")
    assert result.returncode == 1 and message in result.stderr, result.stderr


MANAGER_PLAY = """\
- name: The wazuh_manager role's block for a real manager host
  hosts: acme-logistics-wazuh
  connection: local
  gather_facts: false
  vars:
    clawtex_generated_dir: {generated}
    clawtex_offline: true
    wazuh_manager_etc: {etc}
    wazuh_manager_secrets_dir: {secrets}
    wazuh_manager_group: "{group}"
  tasks:
    - name: Block
      ansible.builtin.include_role: {{name: {roles}/wazuh_manager, tasks_from: block}}
"""


def test_wazuh_manager_block_fills_secrets_as_xml_text(tmp_path):
    """The role deploys generated/wazuh/managers/<id>/ossec-manager.conf with its placeholders
    filled from the controller's secrets, XML-escaped: a hostile secret stays text."""
    import grp
    import xml.etree.ElementTree as ET
    secrets = tmp_path / "secrets"
    hostile = {"pagerduty/acme-logistics.key": "k</api_key><evil/>&\"'", "slack/acme-logistics.url": "https://hooks.example/T?a=1&b=2"}
    for name, value in hostile.items():
        (secrets / "ops" / name).parent.mkdir(parents=True, exist_ok=True)
        (secrets / "ops" / name).write_text(value)
    etc = tmp_path / "etc"
    (etc / "clawtex").mkdir(parents=True)
    play = tmp_path / "manager.yml"
    play.write_text(MANAGER_PLAY.format(generated=REPO / "generated", etc=etc, secrets=secrets, roles=ROLES,
                                        group=grp.getgrgid(os.getgid()).gr_name))
    result = run("ansible-playbook", "-i", str(INVENTORY), str(play), env=ansible_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    for secret in hostile.values():
        assert secret not in result.stdout        # no_log
    root = ET.parse(etc / "clawtex" / "ossec-manager.conf").getroot()
    found = {i.findtext("name"): i for i in root.iter("integration")}
    assert found["pagerduty"].findtext("api_key") == hostile["pagerduty/acme-logistics.key"]
    assert found["slack"].findtext("hook_url") == hostile["slack/acme-logistics.url"]
    assert root.find(".//evil") is None and "@@secret" not in (etc / "clawtex" / "ossec-manager.conf").read_text()


def test_final_backup_of_a_departing_customer_runs_with_the_tags_apply_stack_passes():
    """apply-stack.sh's final backup (`--tags backup -e clawtex_final_backup=true`) selects the
    backup role and its final backup task: read the tags from the script, ask ansible-playbook."""
    script = (REPO / "scripts" / "gitops" / "apply-stack.sh").read_text()
    m = re.search(r"--tags (\S+) -e clawtex_final_backup=true", script)
    assert m, "apply-stack.sh has no final backup run"
    host = "brightpath-tutors-oc-1"           # a Silver host: its tier has backups
    listed = run("ansible-playbook", "-i", str(INVENTORY), "site.yml", "--list-tasks", "--tags", m.group(1),
                 "--limit", host, cwd=ANSIBLE)
    assert listed.returncode == 0, listed.stderr
    tasks = [line.strip().split("\t")[0] for line in listed.stdout.splitlines() if "TAGS:" in line and ":" in line]
    assert "backup : Final backup of a departing customer, waited for" in tasks, listed.stdout
    assert not [t for t in tasks if t.startswith(("openclaw :", "hardening :"))], tasks   # only the backup
    task = next(t for t in yaml.safe_load((ANSIBLE / "roles" / "backup" / "tasks" / "main.yml").read_text())
                if t["name"].startswith("Final backup"))
    assert task["ansible.builtin.systemd_service"] == {"name": "clawtex-backup.service", "state": "started",
                                                       "daemon_reload": True}
    assert "clawtex_final_backup | default(false)) | bool" in task["when"] and "clawtex_backup_customers" in task["when"]


def test_platinum_skills_archive_unpacks_as_the_gateways_user(tmp_path):
    """The control target's pack step (roles/openclaw tasks/kubernetes.yml "Skills archive", its own shell)
    and the init container's command (as the rendered Deployment has it: test_role_templates_render_...)
    run by GNU tar as the gateway's uid into a root-owned 0777 directory, as an emptyDir is: the skill
    tree arrives, .git stays out, and the same tree packs to the same bytes (no needless rollout).
    Was: an archive of `.` made tar exit 2 ("Cannot utime", "Cannot change mode" on the emptyDir's root)."""
    import shlex
    if os.geteuid() != 0:
        pytest.fail("needs root (setpriv to the gateway's uid)")
    tasks = yaml.safe_load((ROLES / "openclaw" / "tasks" / "kubernetes.yml").read_text())
    [pack] = [t for t in tasks if t["name"] == "Skills archive"]
    k8s = tmp_path / "k8s"
    cmd = pack["ansible.builtin.shell"]["cmd"].replace("{{ (openclaw_config_dir ~ '/k8s') | quote }}", shlex.quote(str(k8s)))
    assert "{{" not in cmd
    (k8s / "skills" / "fhir-bridge" / ".git").mkdir(parents=True)
    (k8s / "skills" / "fhir-bridge" / "SKILL.md").write_text("# fhir-bridge\n")
    (k8s / "skills" / "fhir-bridge" / ".git" / "config").write_text("[core]\n")
    first = run("bash", "-c", cmd)
    assert first.returncode == 0 and first.stdout.strip() == "packed", first.stdout + first.stderr
    again = run("bash", "-c", cmd)
    assert again.returncode == 0 and again.stdout.strip() == "unchanged", again.stdout + again.stderr
    import shutil
    import tempfile
    pod = Path(tempfile.mkdtemp(prefix="clawtex-skills-"))      # pytest's tmp is 0700: the uid could not reach it
    try:
        os.chmod(pod, 0o755)
        (pod / "archive").mkdir(mode=0o755)
        shutil.copyfile(k8s / "skills.tar.gz", pod / "archive" / "skills.tar.gz")
        os.chmod(pod / "archive" / "skills.tar.gz", 0o644)     # a ConfigMap volume's default mode
        empty_dir = pod / "emptydir"
        empty_dir.mkdir()
        os.chmod(empty_dir, 0o777)                              # as the kubelet makes an emptyDir
        uid = str(yaml.safe_load((ROLES / "openclaw" / "defaults" / "main.yml").read_text())["openclaw_uid"])
        init = ["tar", "--strip-components=1", "-xzf", str(pod / "archive" / "skills.tar.gz"), "-C", str(empty_dir)]
        r = run("setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *init)
        assert r.returncode == 0, r.stdout + r.stderr
        assert (empty_dir / "fhir-bridge" / "SKILL.md").read_text() == "# fhir-bridge\n"
        assert not (empty_dir / "fhir-bridge" / ".git").exists()
    finally:
        shutil.rmtree(pod, ignore_errors=True)
