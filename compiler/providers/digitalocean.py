"""DigitalOcean (Terraform provider digitalocean/digitalocean; data: tiers/providers.yaml `digitalocean`).

Every resource is a generic one built through the StackBuilder (so stacks are
synthesized once per shape); the provider, droplets, volumes and firewalls give
the JSON the prebuilt typed CDKTF bindings (cdktf-cdktf-provider-digitalocean)
gave before (`_build_stack`). The only provider offering Platinum today: a DOKS cluster per
region whose node pool autoscales between the tier's bounds, the gateway behind
a Service of type LoadBalancer, a global load balancer in front. Every droplet is
already in its region's default VPC, and vpc_uuid is force_new, so no explicit
VPC is set (issue 16 item 13)."""
from __future__ import annotations

import hashlib

from typing import Any, Optional

from .base import (ANYWHERE, cluster_name, node_pool_tag, OPS_KEY_NAME, PUBLIC_PORTS, ROLE_K8S, WAZUH_AGENT_PORTS, BackupDestination, InboundRule,
                   ProviderPlugin, declare_provider, labels, resource_id, s3_endpoint)


class DigitalOcean(ProviderPlugin):
    name = "digitalocean"
    terraform_provider = "digitalocean"
    # Provider reference (docs.digitalocean.com/reference/terraform/reference, read
    # 2026-11-26): `token` from DIGITALOCEAN_TOKEN (or DIGITALOCEAN_ACCESS_TOKEN); Spaces
    # buckets need `spaces_access_id` / `spaces_secret_key`, defaulting to
    # SPACES_ACCESS_KEY_ID / SPACES_SECRET_ACCESS_KEY (the workflows lacked them).
    credential_env = ("DIGITALOCEAN_TOKEN", "SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY")
    # DigitalOcean's name servers (docs.digitalocean.com/products/networking/dns/getting-started/
    # dns-registrars: "ns1.digitalocean.com, ns2.digitalocean.com, ns3.digitalocean.com"; row 33).
    name_servers = ("ns1.digitalocean.com", "ns2.digitalocean.com", "ns3.digitalocean.com")
    server_type = "digitalocean_droplet"
    # digitalocean v2.99.1 docs/resources/droplet.md: `name`, `ipv4_address`, `vpc_uuid`; firewall.md
    # `name`, `droplet_ids` (the firewall lists its droplets).
    server_ipv4_attr = "ipv4_address"
    server_private_attrs = ("vpc_uuid",)
    firewall_name_attrs = {"digitalocean_firewall": "name"}
    firewall_server_lists = {"digitalocean_firewall": "droplet_ids"}
    # force_new in digitalocean v2.99.1 digitalocean/droplet/resource_droplet.go
    # (tiers/replacement-facts.yaml); `image` is for new droplets only, existing ones
    # upgrade in place (docs/replacement.md "Image upgrades").
    server_ignore_changes = ("image", "ssh_keys", "user_data")
    # DigitalOcean resizes a Droplet only while it is off; the provider powers it
    # off and on around the resize (as documented; re-check on a bump).
    rebooting_resize = "size"
    backup_resource_types = ("digitalocean_spaces_bucket",)
    managed_kubernetes = True
    # Droplets of the account in one region share its default VPC, and cloud firewalls filter VPC
    # traffic as well ("Firewalls affect both public and VPC network traffic. Rules specific to
    # either must specify the public or private IP range": docs.digitalocean.com/products/
    # networking/firewalls/details/limits/, last edited 17 Jun 2025; provider-facts row 39).
    region_network_shared = True
    # A Platinum customer's declared postgres databases live in a managed PostgreSQL cluster
    # (_managed_postgres): nothing in a DOKS cluster runs a database (docs/backups.md "Platinum").
    managed_postgres = True

    # DOKS nodes come and go with the autoscaler under names DOKS picks: Prometheus's droplet
    # discovery finds them (provider-facts row 40).
    discovers_k8s_nodes = True

    def node_discovery_job(self, pools: list[Any], token_file: str, port: int) -> dict[str, Any]:
        """`digitalocean_sd_configs` lists every Droplet of the account (Prometheus
        discovery/digitalocean/digitalocean.go: tags joined as ",t1,t2,", `__address__` = public
        IPv4 + `port`, no base-URL setting). Kept: Droplets carrying a pool's tag (node_pool_tag,
        on every node of the cluster's pools); labelled like node.json, job `node` so the host
        alerts cover them; the VPC address where the pool is scraped privately (row 39)."""
        def tag_regex(tag: str) -> str:
            return f".*,{tag},.*"        # tags are validated slugs ([a-z0-9-]): nothing to escape
        relabel: list[dict[str, Any]] = [
            {"source_labels": ["__meta_digitalocean_tags"], "regex": f".*,({'|'.join(p.tag for p in pools)}),.*",
             "action": "keep"}]
        for p in pools:
            for label, value in (("customer", p.customer), ("tier", p.tier), ("provider", p.provider)):
                relabel.append({"source_labels": ["__meta_digitalocean_tags"], "regex": tag_regex(p.tag),
                                "target_label": label, "replacement": value})
            if p.private:
                relabel.append({"source_labels": ["__meta_digitalocean_tags", "__meta_digitalocean_private_ipv4"],
                                "regex": f"{tag_regex(p.tag)};(.+)", "target_label": "__address__",
                                "replacement": f"${{1}}:{port}"})
        relabel += [
            {"source_labels": ["__meta_digitalocean_region"], "target_label": "region"},
            {"source_labels": ["__meta_digitalocean_droplet_name"], "target_label": "host"},
            {"target_label": "role", "replacement": ROLE_K8S},
        ]
        return {"digitalocean_sd_configs": [{"authorization": {"credentials_file": token_file}, "port": port}],
                "relabel_configs": relabel}

    def build_fleet(self, b: Any) -> None:
        declare_provider(b, self.terraform_provider)
        b.resource("digitalocean_ssh_key", "ops", {"name": OPS_KEY_NAME, "public_key": "${var.ops_ssh_public_key}"})
        # The fleet DNS zone (records of every stack; the global LB's managed domain): created
        # here, before them (issue 25). digitalocean v2.99.1 docs/resources/domain.md.
        b.resource("digitalocean_domain", "fleet", {"name": b.info.dns_zone})
        # The white-label zone (white-label customers' CNAME targets and global LB domains; it
        # names no operator): created here too, beside the fleet zone.
        if b.info.white_label_dns_zone:
            b.resource("digitalocean_domain", "white_label", {"name": b.info.white_label_dns_zone})

    def build_stack(self, b: Any) -> None:
        _build_stack(b)

    def k8s_service_annotations(self, lb: Any) -> dict[str, str]:
        # digitalocean-cloud-controller-manager docs/controllers/services/annotations.md and
        # docs.digitalocean.com/products/kubernetes/how-to/configure-load-balancers (read
        # 2026-11-26): `do-loadbalancer-name` names (or renames) the load balancer (DOKS
        # 1.27+); `do-loadbalancer-protocol` defaults to tcp (https would also need a
        # certificate-id or tls-passthrough); the health check defaults to tcp on "/".
        return {
            "service.beta.kubernetes.io/do-loadbalancer-name": lb.name,
            "service.beta.kubernetes.io/do-loadbalancer-protocol": lb.protocol,
            "service.beta.kubernetes.io/do-loadbalancer-healthcheck-protocol": lb.protocol,
            "service.beta.kubernetes.io/do-loadbalancer-healthcheck-path": lb.health_path,
            # The type of the load balancer Terraform created (REGIONAL_LB_TYPE): without it the
            # controller builds every request as its default type, REGIONAL_NETWORK (row 37).
            "service.beta.kubernetes.io/do-loadbalancer-type": REGIONAL_LB_TYPE,
        }

    # digitalocean-cloud-controller-manager docs/getting-started.md "Load-balancer ID annotations"
    # (commit 70d527e, v0.1.68+, read 2026-12-03): "You can have digitalocean-cloud-controller-manager
    # manage an existing load-balancer by creating a LoadBalancer Service annotated with the UUID
    # of the load-balancer." Terraform creates the regional load balancer (its id is a stack
    # output), the gateway Service adopts it: the first apply needs nothing from Ansible.
    k8s_adopt_annotation = "kubernetes.digitalocean.com/load-balancer-id"

    def inbound_rules(self, rtype: str, attrs: dict[str, Any]) -> Optional[list[InboundRule]]:
        if rtype != "digitalocean_firewall":
            return None
        # Every source field of an inbound_rule block in the provider schema
        # (terraform-provider-digitalocean docs/resources/firewall.md, "inbound_rule":
        # source_addresses, source_droplet_ids, source_tags, source_load_balancer_uids,
        # source_kubernetes_ids; the same five in cdktf-provider-digitalocean's
        # FirewallInboundRule, read 2026-12-03). Traffic is allowed from the union.
        return [(r.get("protocol"), r.get("port_range"), inbound_sources(r)) for r in attrs.get("inbound_rule") or []]

    def backup_destination(self, info: Any, customer: str, region: str, copy: bool) -> BackupDestination:
        suffix = f"-{region}" if copy else ""
        return BackupDestination("s3", f"clawtex-{customer}-backup{suffix}", region, s3_endpoint(info, region))


# The regional load balancer's type, set on the Terraform resource and on the Service that adopts
# it. digitalocean-cloud-controller-manager @70d527e (v0.1.68+, read 2026-12-03): cloud.go defaults
# DEFAULT_LB_TYPE to REGIONAL_NETWORK ("defaultLBType := godo.LoadBalancerTypeRegionalNetwork"),
# loadbalancers.go getType() returns it for a Service without `do-loadbalancer-type`, and for
# REGIONAL_NETWORK builds TCP/UDP pass-through rules (buildRegionalNetworkForwardingRule: no http,
# no health path). The controller copies an adopted load balancer's type onto the Service
# (retrieveAndAnnotateLoadBalancer), but its admission webhook validates a Service update without
# the annotation as a change to REGIONAL_NETWORK (lb_service_admission_handler.go validateUpdate):
# the annotation keeps the HTTP load balancer and the GLOBAL one's target as they are (row 37).
REGIONAL_LB_TYPE = "REGIONAL"

SOURCE_FIELDS = (("source_addresses", ""), ("source_droplet_ids", "droplet "), ("source_tags", "tag "),
                 ("source_load_balancer_uids", "load balancer "), ("source_kubernetes_ids", "kubernetes cluster "))


def inbound_sources(rule: dict[str, Any]) -> list[str]:
    """The sources of one inbound_rule, each named by kind (a CIDR stands alone)."""
    return [f"{prefix}{v}" for key, prefix in SOURCE_FIELDS for v in rule.get(key) or []]


PLUGIN = DigitalOcean()


def _build_stack(b: Any) -> None:
    """Every resource through the StackBuilder (generic resources, explicit types), so the stack
    is recorded and synthesized once per shape (targets/terraform.py `synthesize`). The JSON is
    what the prebuilt typed bindings (cdktf-cdktf-provider-digitalocean: DigitaloceanProvider,
    Droplet, Volume, VolumeAttachment, Firewall) wrote before, byte for byte: the provider is a
    provider element with the binding's source (its block and required_providers come from the
    element, not overrides: the "//" overrides list stays as it was), the version pinned by
    override as before, each binding's attributes under their Terraform names, `Token.as_number`
    references as the `${...}` strings they resolve to (tests/test_terraform_shapes.py replays
    the recorded calls through the bindings and compares)."""
    info = b.info
    b.provider(PLUGIN.terraform_provider, info.terraform_source)
    b.stack.add_override("terraform.required_providers.digitalocean.version", info.terraform_version)
    key = b.data("digitalocean_ssh_key", "ops", {"name": OPS_KEY_NAME})
    droplets: list[str] = []
    for host in b.sp.hosts:
        if host.role == ROLE_K8S:
            continue    # DOKS node pools, below
        rid = resource_id(host)
        if host.running:
            droplets.append(rid)
            # DigitalOcean has no delete protection for droplets; lifecycle keeps routine changes from replacing them.
            b.resource("digitalocean_droplet", rid, {
                "name": host.name, "size": host.size.slug, "image": info.image, "region": host.region,
                "ssh_keys": [f"${{{key}.fingerprint}}"], "tags": [f"{k}:{v}" for k, v in sorted(labels(host).items())],
                "user_data": b.user_data(), "monitoring": True, "ipv6": True, **PLUGIN.server_lifecycle()})
            b.output(f"{rid}_ipv4", f"${{digitalocean_droplet.{rid}.ipv4_address}}", f"public IPv4 of {host.name}")
            # Every droplet is in its region's default VPC (module docstring): its VPC address.
            b.output(PLUGIN.private_address_output(host), f"${{digitalocean_droplet.{rid}.ipv4_address_private}}",
                     f"private (VPC) IPv4 of {host.name}")
        if host.volume_gb:
            b.resource("digitalocean_volume", f"{rid}_data", {
                "name": f"{host.name}-data", "region": host.region, "size": host.volume_gb,
                "initial_filesystem_type": "ext4", "description": f"data volume of {host.name}"}, data=True)
            if host.running:
                b.resource("digitalocean_volume_attachment", f"{rid}_data_attach", {
                    "droplet_id": f"${{digitalocean_droplet.{rid}.id}}", "volume_id": f"${{digitalocean_volume.{rid}_data.id}}"})
    wazuh = [rid for rid in droplets if rid == "wazuh"]
    serving = [rid for rid in droplets if rid not in wazuh]

    def ids(rids: list[str]) -> list[str]:
        return [f"${{digitalocean_droplet.{rid}.id}}" for rid in rids]

    def rule(port: str, sources: list[str]) -> dict[str, Any]:
        return {"protocol": "tcp", "port_range": port, "source_addresses": list(sources)}

    # Outbound ICMP too (path MTU discovery, ping): DigitalOcean firewalls drop what no rule allows.
    def outbound() -> list[dict[str, Any]]:
        return [{"protocol": p, "port_range": "1-65535", "destination_addresses": list(ANYWHERE)} for p in ("tcp", "udp")] + \
            [{"protocol": "icmp", "destination_addresses": list(ANYWHERE)}]

    ssh = rule("22", b.ops_cidrs())
    # node_exporter from the Prometheus host only (clawtex.yaml ops.prometheus), over the address the
    # plan computed per host (plan.ScrapeTarget): public, or the default VPC where the ops host is a
    # Droplet of the account in the same region (row 39). Firewalls filter VPC traffic too.
    def scrape(hosts: list[Any]) -> list[dict[str, Any]]:
        return [rule(port, sources) for port, sources, _ in b.scrape_rules(hosts)]
    by_rid = {resource_id(h): h for h in b.sp.hosts}
    for host, target in b.private_scrape_targets():
        # `<host>.vpc.<fleet zone>` -> the droplet's VPC address: the name Prometheus scrapes.
        b.resource("digitalocean_record", f"{resource_id(host)}_vpc", {
            "domain": target.zone, "name": target.record, "type": "A", "ttl": 300,
            "value": f"${{digitalocean_droplet.{resource_id(host)}.ipv4_address_private}}"})
    if serving:
        inbound = [dict(ssh)] + [rule(p, ANYWHERE) for p in PUBLIC_PORTS] + scrape([by_rid[rid] for rid in serving])
        b.resource("digitalocean_firewall", "fw", {"name": f"{b.sp.name}-fw", "droplet_ids": ids(serving),
                                                   "inbound_rule": inbound, "outbound_rule": outbound()})
    if wazuh:
        # 1514-1515 from the stack's agents only: its serving Droplets (source_droplet_ids covers their
        # VPC address too, row 39). A Platinum cluster's nodes run no Wazuh agent (no DaemonSet:
        # docs/fresh-account.md "Platinum clusters"), so no rule admits the node-pool tags: it would
        # open the manager to every pod's traffic and to nothing of ours (provider-facts row 42).
        agents = [{"protocol": "tcp", "port_range": WAZUH_AGENT_PORTS, "source_droplet_ids": ids(serving)}] if serving else []
        b.resource("digitalocean_firewall", "wazuh_fw", {"name": f"{b.sp.name}-wazuh-fw", "droplet_ids": ids(["wazuh"]),
                                                         "inbound_rule": [dict(ssh)] + agents + scrape([by_rid["wazuh"]]),
                                                         "outbound_rule": outbound()})
    c = b.dedicated
    if c:
        for target in c.backup_targets:
            # No `expiration`: restic writes `config`, `keys/` and packs once and never rewrites
            # them, so an age-based expiry breaks the repository. Retention is restic's
            # `forget --prune`; the bucket only expires versions restic already deleted.
            b.resource("digitalocean_spaces_bucket", target.resource, {
                "name": target.name, "region": target.region, "acl": "private",
                "versioning": [{"enabled": True}],
                "lifecycle_rule": [{"id": "noncurrent", "enabled": True,
                                    "noncurrent_version_expiration": [{"days": c.backups.retention_days}],
                                    "abort_incomplete_multipart_upload_days": 1}],
            }, data=True)
            b.output(target.output, f"${{digitalocean_spaces_bucket.{target.resource}.bucket_domain_name}}", f"bucket {target.name}")
            # A key for this bucket only (digitalocean v2.99.1 docs/resources/spaces_key.md: grant
            # bucket + permission read|readwrite|fullaccess; provider-facts row 34), not the account's
            # Spaces keys: a compromised host reaches its own bucket and nothing else. Same output
            # names as Vultr's per-subscription keys (the backup role reads one pair of names).
            b.resource("digitalocean_spaces_key", f"{target.resource}_key", {
                "name": f"{target.name}-restic", "grant": [{"bucket": target.name, "permission": "readwrite"}],
                "depends_on": [f"digitalocean_spaces_bucket.{target.resource}"]})
            names = target.credential_outputs()      # one definition, read by the backup role's host vars
            for use, attr in (("access_key", "access_key"), ("secret_key", "secret_key")):
                b.output(names[use], f"${{digitalocean_spaces_key.{target.resource}_key.{attr}}}",
                         f"s3_{use} of the key for {target.name} only (backup role)", sensitive=True)
    if c and c.kubernetes:
        # DOKS worker nodes: DigitalOcean manages their k8s-<cluster> firewalls (edits are overwritten
        # by its reconciler) and documents opening more ports with a new cloud firewall associated
        # through the cluster's `k8s:<cluster-uuid>` tag (docs.digitalocean.com/products/kubernetes/
        # details/managed/ "Worker Node Firewalls", read 2026-12-03; tiers/provider-facts.md row 31).
        # One firewall per cluster: Prometheus discovers the nodes (plan.NodePoolScrape) at their VPC
        # address in the ops host's region and at their public one elsewhere, so the sources differ.
        for region in c.regions:
            b.resource("digitalocean_firewall", f"nodes_scrape_fw_{region}", {
                "name": f"{b.sp.name}-{region}-nodes-scrape-fw",
                "tags": [f"k8s:${{digitalocean_kubernetes_cluster.k8s_{region}.id}}"],
                "inbound_rule": [rule(port, sources) for port, sources, _ in b.node_pool_scrape_rules(c.id, region)],
                "outbound_rule": outbound()})
        _doks(b, c)
        return      # the global load balancer owns the customer's record (domains.is_managed)
    b.dns_record("digitalocean_record", lambda ip: {"domain": b.customer_zone(), "name": b.record_name(), "type": "A", "ttl": 300, "value": ip},
                lambda h: f"${{digitalocean_droplet.{resource_id(h)}.ipv4_address}}")


def _doks(b: Any, c: Any) -> None:
    """A DOKS cluster per region; the regional load balancers come from the gateway's
    Service of type LoadBalancer inside each cluster (DigitalOcean documents that a load
    balancer created through the API cannot serve a DOKS cluster); one global LB in front."""
    scaling = c.tier.spec.hosting.autoscaling
    # DOKS cluster autoscaler: auto_scale between min_nodes and max_nodes. node_count is left
    # out then: set, it would reset the pool to that size on every apply (digitalocean v2.99.1
    # docs/resources/kubernetes_cluster.md, node_pool.node_count).
    pool = ({"auto_scale": True, "min_nodes": scaling.min_nodes, "max_nodes": scaling.max_nodes} if scaling
            else {"node_count": c.tier.spec.hosting.region_nodes})
    # An unknown prefix gives latest_version "" without an error (digitalocean v2.99.1
    # digitalocean/kubernetes/datasource_kubernetes_versions.go): refused at plan time.
    versions = b.data("digitalocean_kubernetes_versions", "doks", {
        "version_prefix": b.info.kubernetes_version_prefix,
        "lifecycle": {"postcondition": [{
            "condition": '${self.latest_version != ""}',
            "error_message": f"DigitalOcean offers no Kubernetes version {b.info.kubernetes_version_prefix}*: "
                             "update tiers/providers.yaml digitalocean.kubernetesVersionPrefix (doctl kubernetes options versions)"}]}})
    regional = []
    for priority, gateway in enumerate(c.load_balancers, start=1):
        region = gateway.region
        tag = node_pool_tag(c.id, region)      # on every node Droplet: Prometheus discovery (plan.NodePoolScrape)
        # The version is read once at create time; DigitalOcean's patch upgrades
        # (auto_upgrade, in the maintenance window: the one place upgrades happen) then
        # change it, and a pinned version would make the next plan replace the cluster.
        # The default pool is fixed (providers.yaml kubernetesDefaultPool): its size is ForceNew on the
        # cluster. The tier's plan is the separate workload pool below (docs/replacement.md).
        default = b.info.kubernetes_default_pool
        b.resource("digitalocean_kubernetes_cluster", f"k8s_{region}", {
            "name": cluster_name(c.id, region), "region": region, "version": f"${{{versions}.latest_version}}", "ha": True, "auto_upgrade": True,
            "surge_upgrade": True, "tags": ["managed-by:clawtex", f"customer:{c.id}"],
            "node_pool": [{"name": f"{c.id}-{region}-pool", "size": default.size, "tags": [tag], "auto_scale": True,
                           "min_nodes": default.min_nodes, "max_nodes": default.max_nodes}],
            "maintenance_policy": [{"day": "sunday", "start_time": "03:00"}],
            "lifecycle": {"ignore_changes": ["version"]},
        })
        # The workload pool: `size` is ForceNew here too, but only this pool is replaced. Its name carries
        # the size so create_before_destroy can start the new pool (names are unique per cluster) before
        # the old one drains.
        size = b.info.plan(c.tier_name, region).slug
        b.resource("digitalocean_kubernetes_node_pool", f"pool_{region}", {
            "cluster_id": f"${{digitalocean_kubernetes_cluster.k8s_{region}.id}}", "name": f"{c.id}-{region}-{size}",
            "size": size, "tags": [tag], "labels": {"clawtex.io/pool": "workload"}, **pool,
            "lifecycle": {"create_before_destroy": True},
        })
        # The regional load balancer, created here and adopted by the gateway Service through
        # k8s_adopt_annotation (its id: output <region>_lb_id, read by Ansible): no lookup of a
        # load balancer that only exists after Ansible ran (issue 25 blocker 2). In the cluster's
        # VPC (the CCM requires it). The cloud controller then owns its rules, health check,
        # droplets and name (annotations), so Terraform ignores every later change.
        lb = b.resource("digitalocean_loadbalancer", f"lb_{region}", {
            "name": gateway.name, "type": REGIONAL_LB_TYPE, "region": region,
            "vpc_uuid": f"${{digitalocean_kubernetes_cluster.k8s_{region}.vpc_uuid}}",
            "forwarding_rule": [{"entry_port": gateway.port, "entry_protocol": gateway.protocol,
                                 "target_port": gateway.port, "target_protocol": gateway.protocol}],
            "healthcheck": [{"port": gateway.port, "protocol": gateway.protocol, **({"path": gateway.health_path} if gateway.protocol == "http" else {})}],
            "lifecycle": {"ignore_changes": "all"},
        })
        regional.append((region, priority, lb))
        b.output(PLUGIN.lb_id_output(region), f"${{{lb}.id}}", f"id of the load balancer of {c.id} in {region} (the gateway Service adopts it)")
        b.output(f"{region}_lb_ipv4", f"${{{lb}.ip}}", f"load balancer of {c.id} in {region} (failover target)")
        b.output(f"{region}_k8s_endpoint", f"${{digitalocean_kubernetes_cluster.k8s_{region}.endpoint}}", f"Kubernetes API of {c.id} in {region}")
        # The cluster's credentials for the Ansible control target that applies its manifests (sensitive:
        # kube_config is Sensitive in the schema; handed to the play in the 0600 outputs file only).
        b.output(PLUGIN.kubeconfig_output(region), f"${{digitalocean_kubernetes_cluster.k8s_{region}.kube_config[0].raw_config}}",
                 f"kubeconfig of {c.id}'s cluster in {region}", sensitive=True)
    # active-active: equal priority; active-passive: the first region wins until it fails.
    priorities = {r: (1 if c.ha_mode == "active-active" else p) for r, p, _ in regional}
    (port, protocol), = {(g.port, g.protocol) for g in c.load_balancers}
    # is_managed: DigitalOcean creates the A/AAAA records of this name itself; a
    # digitalocean_record of the same name would conflict (issue 16 item 4).
    domains = [{"name": f"{b.record_name()}.{b.customer_zone()}", "is_managed": True}]
    if c.custom_domain and c.active:
        # TLS for the customer's own name (issue 25 item 4): a Let's Encrypt certificate DigitalOcean
        # issues and renews, only for a domain its DNS serves (digitalocean v2.99.1 docs/resources/
        # certificate.md `domains`), so the customer delegated the name (validate refuses a Platinum
        # customDomain until customDomainDelegated) and the zone is ours. The name carries a digest
        # of the domain: create_before_destroy needs a new name (docs/resources/loadbalancer.md, row 33).
        b.resource("digitalocean_domain", "custom_domain", {"name": c.custom_domain})
        digest = hashlib.sha256(c.custom_domain.encode()).hexdigest()[:8]
        cert = b.resource("digitalocean_certificate", "custom_domain_tls", {
            "name": f"{c.id}-{digest}", "type": "lets_encrypt", "domains": [c.custom_domain],
            "depends_on": ["digitalocean_domain.custom_domain"], "lifecycle": {"create_before_destroy": True}})
        domains.append({"name": c.custom_domain, "is_managed": True, "certificate_name": f"${{{cert}.name}}"})
    b.resource("digitalocean_loadbalancer", "global", {
        "name": f"{c.id}-global", "type": "GLOBAL",
        "target_load_balancer_ids": [f"${{{lb}.id}}" for _, _, lb in regional],
        "glb_settings": [{"target_port": port, "target_protocol": protocol, "region_priorities": priorities, "failover_threshold": 50}],
        "domains": domains,
    })
    b.output("global_lb_ip", "${digitalocean_loadbalancer.global.ip}", f"global entry point of {c.id}")
    _managed_postgres(b, c)


# The managed PostgreSQL of a Platinum customer (digitalocean v2.99.1 docs/resources/database_cluster.md,
# schema in reference/terraform-providers/digitalocean.json): engine "pg"; its plan (size, node_count,
# version) is tiers/providers.yaml digitalocean.managedPostgres (one place, read by the cost report too);
# `size` and `node_count` change in place, nodes never shrink ("You cannot resize cluster nodes to smaller
# sizes": docs.digitalocean.com/products/databases/postgresql/details/limits, read 2026-12-04).
# tiers/provider-facts.md row 43.
def _managed_postgres(b: Any, c: Any) -> None:
    """One cluster per customer with a postgres database, in the primary region; a database per
    declared name, one login for the gateway and the backup, and trusted sources: the customer's
    DOKS clusters only (`type = "k8s"`, docs/resources/database_firewall.md; without a firewall the
    cluster accepts any source). Its connection is handed over as stack outputs (the password
    sensitive, as the schema marks it) that Ansible puts in the cluster's Secret; never in generated/."""
    names = [d.name for d in c.databases if d.engine == "postgres"]
    if not names:
        return
    pg = b.info.managed_postgres      # validate refuses the databases where the catalog has none
    cluster = b.resource("digitalocean_database_cluster", "postgres", {
        "name": f"{c.id}-pg", "region": c.regions[0], "tags": ["managed-by:clawtex", f"customer:{c.id}"],
        "engine": "pg", "version": pg.version, "size": pg.size, "node_count": pg.node_count}, data=True)         # the customer's data: prevent_destroy, as for the buckets
    for name in names:
        b.resource("digitalocean_database_db", f"postgres_{name}", {"cluster_id": f"${{{cluster}.id}}", "name": name}, data=True)
    user = b.resource("digitalocean_database_user", "postgres_gateway", {"cluster_id": f"${{{cluster}.id}}", "name": f"{c.id}-gateway"})
    b.resource("digitalocean_database_firewall", "postgres_fw", {
        "cluster_id": f"${{{cluster}.id}}",
        "rule": [{"type": "k8s", "value": f"${{digitalocean_kubernetes_cluster.k8s_{region}.id}}"} for region in c.regions]})
    values = {"PGHOST": f"${{{cluster}.host}}", "PGPORT": f"${{{cluster}.port}}", "PGUSER": f"${{{user}.name}}",
              "PGPASSWORD": f"${{{user}.password}}"}
    for env, output in PLUGIN.database_outputs().items():
        b.output(output, values[env], f"{env} of {c.id}'s managed PostgreSQL (the cluster Secret clawtex-database)",
                 sensitive=env == "PGPASSWORD")
    # No CNAME target: the customer delegates the name itself (handoff: NS records, plugin name_servers).
