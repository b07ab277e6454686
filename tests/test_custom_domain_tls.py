"""Issue 25 item 4 and "Bad input": TLS for every custom domain a tier promises, the
Platinum global load balancer included; a Platinum custom domain that needs the
customer's DNS delegation first is a compile error naming that step.

Expected values come from customers/*.yaml, tiers/*.yaml and the provider's docs
(digitalocean v2.99.1 docs/resources/certificate.md: a lets_encrypt certificate's
`domains` "must be managed using DigitalOcean's DNS"; DigitalOcean's name servers
ns1-3.digitalocean.com, docs.digitalocean.com/products/networking/dns/getting-started/dns-registrars)."""
from __future__ import annotations

import json

import yaml

from conftest import REPO, run_clawtex

DO_NAME_SERVERS = ["ns1.digitalocean.com", "ns2.digitalocean.com", "ns3.digitalocean.com"]


def _customers() -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted((REPO / "customers").glob("*.yaml"))]


def _tier(name: str) -> dict:
    return yaml.safe_load((REPO / "tiers" / f"{name}.yaml").read_text())["spec"]


def _promised() -> list[dict]:
    return [c for c in _customers() if c["spec"].get("customDomain") and _tier(c["spec"]["tier"])["customDomain"]
            and c["spec"].get("status", "active") == "active"]


def test_every_promised_custom_domain_gets_a_certificate():
    seen = 0
    for c in _promised():
        cid, domain = c["metadata"]["id"], c["spec"]["customDomain"]
        if _tier(c["spec"]["tier"])["kubernetes"]:
            doc = json.loads((REPO / "generated" / "terraform" / cid / "cdk.tf.json").read_text())
            res = doc["resource"]
            (glb,) = [lb for lb in res["digitalocean_loadbalancer"].values() if lb.get("type") == "GLOBAL"]
            entry = next((d for d in glb["domains"] if d["name"] == domain), None)
            assert entry, f"{cid}: the global load balancer does not serve {domain}"
            ref = entry.get("certificate_name", "")
            assert ref.startswith("${digitalocean_certificate.") and ref.endswith(".name}"), entry
            cert = res["digitalocean_certificate"][ref.split(".")[1]]
            assert cert["type"] == "lets_encrypt" and cert["domains"] == [domain], cert
            # Let's Encrypt through DigitalOcean needs the name in DigitalOcean's DNS: the zone is ours.
            assert domain in {d["name"] for d in res.get("digitalocean_domain", {}).values()}
            assert cert.get("lifecycle", {}).get("create_before_destroy") is True
        else:
            hv = yaml.load((REPO / "generated" / "ansible" / "inventory" / "host_vars" / f"{cid}-oc-1.yml").read_text(),
                           Loader=_Loader)
            assert hv["tls_domain"] == domain and "tls" in hv["clawtex_roles"], cid
        seen += 1
    assert seen >= 3


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def test_platinum_custom_domain_without_delegation_names_the_manual_step(repo):
    path = repo / "customers" / "orbital-health.yaml"
    text = path.read_text()
    assert "  customDomainDelegated: true\n" in text
    path.write_text(text.replace("  customDomainDelegated: true\n", ""))
    result = run_clawtex(repo, "validate", str(path))
    assert result.returncode == 1
    line = next(i for i, l in enumerate(path.read_text().splitlines(), 1) if l.startswith("  customDomain:"))
    err = result.stderr
    assert f"customers/orbital-health.yaml:{line}:" in err and "spec.customDomain: manual step first" in err, err
    assert "NS records for care-assistant.orbital-health.example" in err
    assert all(ns in err for ns in DO_NAME_SERVERS), err
    assert "customDomainDelegated: true" in err


def test_delegation_flag_without_a_platinum_domain_is_refused(repo):
    path = repo / "customers" / "acme-logistics.yaml"
    path.write_text(path.read_text().replace("  customDomain:", "  customDomainDelegated: true\n  customDomain:", 1))
    result = run_clawtex(repo, "validate", str(path))
    assert result.returncode == 1 and "customDomainDelegated is for a Platinum customDomain" in result.stderr


# Gold (issue 25 "Bad input"): certbot on the host answers Let's Encrypt's HTTP-01 at the custom
# domain, which reaches the host only through the customer's CNAME, in the customer's own zone that
# no workflow can write. Oracle for the target: the customer's id and tiers/providers.yaml dnsZone
# (`<id>.<zone>`, docs/fresh-account.md), joined with the stack's generated customer_dns_name output.
def _providers() -> dict:
    return yaml.safe_load((REPO / "tiers" / "providers.yaml").read_text())["spec"]


def _gold_with_domain() -> list[dict]:
    return [c for c in _promised() if not _tier(c["spec"]["tier"])["kubernetes"]]


def test_gold_custom_domain_without_its_cname_names_the_manual_step(repo):
    golds = _gold_with_domain()
    assert {c["spec"]["provider"] for c in golds} >= {"hetzner", "vultr"}, golds
    for c in golds:
        cid, domain = c["metadata"]["id"], c["spec"]["customDomain"]
        target = f"{cid}.{_providers()[c['spec']['provider']]['dnsZone']}"
        out = json.loads((REPO / "generated" / "terraform" / cid / "cdk.tf.json").read_text())["output"]
        assert out["customer_dns_name"]["value"] == target, out["customer_dns_name"]
        path = repo / "customers" / f"{cid}.yaml"
        text = path.read_text()
        assert "  customDomainCnameAdded: true\n" in text, cid
        path.write_text(text.replace("  customDomainCnameAdded: true\n", ""))
        result = run_clawtex(repo, "validate", str(path))
        assert result.returncode == 1, result.stdout
        line = next(i for i, l in enumerate(path.read_text().splitlines(), 1) if l.startswith("  customDomain:"))
        err = result.stderr
        assert f"customers/{cid}.yaml:{line}:" in err and "spec.customDomain: manual step first" in err, err
        assert f"{domain} CNAME {target} " in err and "customDomainCnameAdded: true" in err, err
        path.write_text(text)


def test_a_suspended_gold_customer_needs_no_cname(repo):
    path = repo / "customers" / "acme-logistics.yaml"
    text = path.read_text().replace("  customDomainCnameAdded: true\n", "")
    assert "\n  status:" not in text
    path.write_text(text.replace("  tier: gold\n", "  tier: gold\n  status: suspended\n", 1))
    result = run_clawtex(repo, "validate", str(path))
    assert "manual step" not in result.stderr, result.stderr


def test_cname_flag_outside_a_gold_custom_domain_is_refused(repo):
    path = repo / "customers" / "orbital-health.yaml"
    path.write_text(path.read_text().replace("  customDomain:", "  customDomainCnameAdded: true\n  customDomain:", 1))
    result = run_clawtex(repo, "validate", str(path))
    assert result.returncode == 1 and "customDomainCnameAdded is for a Gold customDomain" in result.stderr, result.stderr
