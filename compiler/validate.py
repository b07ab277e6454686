"""Stage 2: turn loaded documents into validated models, collecting every error.

Shape and types come from the pydantic models; rules that need the tier, the
provider catalog or the whole fleet are checked here. Nothing stops at the
first problem: `clawtex validate` reports all errors of all files in one run.
"""
from __future__ import annotations

import difflib

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, TypeVar

from pydantic import BaseModel, ValidationError

from .cache import Cache, Pack
from .diagnostics import CompileError, Diagnostic
from .load import Document, SourceDocument, load_document
from .providers import PLUGINS, plugin
from .providers.catalog import provider_problems, region_problems
from .plain import message as plain_message
from .models import LINKED_CHANNELS, Customer, ProviderCatalog, Settings, SloWindows, Tier, release_channel
from .previous import PreviousState

M = TypeVar("M", bound=BaseModel)

# Things that look like live credentials. Customer files hold references only.
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("Telegram bot token", re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}|\bxapp-[A-Za-z0-9-]{10,}")),
    ("Discord bot token", re.compile(r"\b[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}")),
    ("API key", re.compile(r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|AIza[0-9A-Za-z_-]{35}|(?:sk|rk)_live_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{16,})")),
)


@dataclass(frozen=True)
class LoadedCustomer:
    model: Customer
    doc: Document


@dataclass(frozen=True)
class Inputs:
    """Everything the planner needs, validated."""

    settings: Settings
    catalog: ProviderCatalog
    tiers: dict[str, Tier]
    customers: tuple[LoadedCustomer, ...]
    slo_windows: SloWindows
    # What the last compile committed (read by pipeline.load_inputs; empty from validate_repo alone).
    previous: PreviousState = field(default_factory=PreviousState)
    # tiers/replacement-facts.yaml (compiler/replacement.py), read by pipeline.load_inputs.
    replacement_facts: dict = field(default_factory=dict)


def relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def parse_model(doc: Document, model: type[M], errors: list[Diagnostic]) -> M | None:
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        for err in exc.errors():
            errors.append(doc.diagnostic(tuple(err["loc"]), plain_message(err, model)))
        return None


SLO_WINDOWS_FILE = "slo-windows.yaml"
NOT_TIERS = ("providers.yaml", SLO_WINDOWS_FILE, "replacement-facts.yaml")


def load_slo_windows(root: Path, errors: list[Diagnostic]) -> SloWindows | None:
    return _single(root / "tiers" / SLO_WINDOWS_FILE, root, SloWindows, errors)


def load_repo_config(root: Path, errors: list[Diagnostic]) -> tuple[Settings | None, ProviderCatalog | None, dict[str, Tier]]:
    settings = _single(root / "clawtex.yaml", root, Settings, errors)
    catalog = _single(root / "tiers" / "providers.yaml", root, ProviderCatalog, errors)
    tiers = {}
    for path in sorted((root / "tiers").glob("*.yaml")):
        if path.name in NOT_TIERS:
            continue
        tier = _single(path, root, Tier, errors)
        if tier is not None:
            if tier.name != path.stem:
                errors.append(Diagnostic(relative(path, root), 1, 1, "metadata.name", f"tier name '{tier.name}' must equal the file name '{path.stem}'"))
            tiers[tier.name] = tier
    if not tiers and not errors:
        errors.append(Diagnostic("tiers/", 1, 1, "", "no tier files found"))
    if settings is not None and catalog is not None:
        errors.extend(private_network_errors(root, settings, catalog))
    return settings, catalog, tiers


def private_network_errors(root: Path, settings: Settings, catalog: ProviderCatalog) -> list[Diagnostic]:
    """ops.prometheus.privateNetwork names a region of its provider (a typo would silently leave
    every host on the public scrape path)."""
    net = settings.spec.ops.prometheus.private_network
    if net is None or net.region in catalog.spec[net.provider].regions:
        return []
    doc = load_document(root / "clawtex.yaml", relative(root / "clawtex.yaml", root))
    return [doc.diagnostic(("spec", "ops", "prometheus", "privateNetwork", "region"),
                           f"{net.provider} has no region '{net.region}' (tiers/providers.yaml "
                           f"{net.provider}.regions: {', '.join(catalog.spec[net.provider].regions)})")]


def _single(path: Path, root: Path, model: type[M], errors: list[Diagnostic]) -> M | None:
    if not path.exists():
        errors.append(Diagnostic(relative(path, root), 1, 1, "", "file is missing"))
        return None
    try:
        doc = load_document(path, relative(path, root))
    except CompileError as exc:
        errors.extend(exc.diagnostics)
        errors.extend(secrets_in_file(path, relative(path, root), None))
        return None
    errors.extend(secrets_in_file(path, relative(path, root), doc))   # reported; the file's data still counts
    return parse_model(doc, model, errors)


def customer_files(root: Path, files: Iterable[Path] | None = None) -> list[Path]:
    if files:
        return sorted({Path(f).resolve() for f in files})
    # The directory is resolved once; only an entry that is itself a link needs its own resolve.
    directory = (root / "customers").resolve()
    return sorted(p.resolve() if p.is_symlink() else p for p in directory.glob("*.y*ml"))


def validate_customer_file(path: Path, root: Path, tiers: dict[str, Tier], catalog: ProviderCatalog | None,
                           errors: list[Diagnostic]) -> LoadedCustomer | None:
    name = relative(path, root)
    try:
        doc = load_document(path, name)
    except CompileError as exc:
        errors.extend(exc.diagnostics)
        errors.extend(secrets_in_file(path, name, None))     # a file that does not parse still leaks
        return None
    except OSError as exc:
        errors.append(Diagnostic(name, 1, 1, "", f"cannot read file: {exc.strerror}"))
        return None
    found = secrets_in_file(path, name, doc)
    errors.extend(found)
    customer = parse_model(doc, Customer, errors)
    if customer is None:
        return None
    if path.suffix != ".yaml":
        errors.append(doc.diagnostic((), "customer files end in .yaml"))
    if customer.metadata.id != path.stem:
        errors.append(doc.diagnostic(("metadata", "id"), f"id '{customer.metadata.id}' must equal the file name '{path.stem}'"))
    rule_errors = list(tier_rule_errors(customer, doc, tiers, catalog))
    errors.extend(rule_errors)
    return None if (found or rule_errors) else LoadedCustomer(customer, doc)


SECRET_ADVICE = "{kind} files hold secret references only, e.g. {{source: env, id: ACME_TELEGRAM_BOT_TOKEN}}"


def find_secrets_in_text(text: str, name: str) -> list[Diagnostic]:
    """Every line of the file's text, comments included, against SECRET_PATTERNS: a
    token pasted into a comment is as committed to git history as one in a value."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for label, pattern in SECRET_PATTERNS:
            match = pattern.search(line)
            if match:
                comment = line.find("#")
                where = " in a comment" if 0 <= comment < match.start() and _comment_starts(line, comment) else ""
                found.append(Diagnostic(name, number, match.start() + 1, "",
                                        f"looks like a plaintext {label}{where}; {_advice(name)}; once pushed it is in "
                                        "git history: remove it and rotate the credential"))
                break
    return found


def _advice(name: str) -> str:
    return SECRET_ADVICE.format(kind="customer" if name.startswith("customers/") else "clawtex")


def _comment_starts(line: str, at: int) -> bool:
    """A YAML comment starts with '#' at the line start or after whitespace (YAML 1.2, 6.6)."""
    return at == 0 or line[at - 1] in " \t"


def secrets_in_file(path: Path, name: str, doc: Document | None) -> list[Diagnostic]:
    """Secrets in the file's text (by line) and in its parsed values (by key path, which
    also catches values the text spells with escapes or folding), each line reported once."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    found = find_secrets_in_text(text, name)
    lines = {d.line for d in found}
    if doc is not None:
        found += [d for d in find_plaintext_secrets(doc) if d.line not in lines]
    return found


def find_plaintext_secrets(doc: Document) -> Iterable[Diagnostic]:
    def walk(value: Any, path: tuple) -> Iterable[Diagnostic]:
        if isinstance(value, dict):
            for key, child in value.items():
                yield from walk(child, (*path, key))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                yield from walk(child, (*path, index))
        elif isinstance(value, str):
            for label, pattern in SECRET_PATTERNS:
                if pattern.search(value):
                    yield doc.diagnostic(path, f"looks like a plaintext {label}; {_advice(doc.file)}")
                    break
    return walk(doc.data, ())


def tier_rule_errors(c: Customer, doc: Document, tiers: dict[str, Tier], catalog: ProviderCatalog | None) -> Iterable[Diagnostic]:
    spec = c.spec
    tier = tiers.get(spec.tier)
    if tier is None:
        close = difflib.get_close_matches(str(spec.tier), sorted(tiers), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        yield doc.diagnostic(("spec", "tier"), f"unknown tier '{spec.tier}'{hint} (known: {', '.join(sorted(tiers))})")
        return
    t = tier.spec
    name = tier.name
    at = lambda *p: ("spec", *p)  # noqa: E731 - short path builder

    limit = t.channels.max
    if limit is not None and len(spec.channels) > limit:
        yield doc.diagnostic(at("channels"), f"{name} allows {limit} channel{'s' if limit != 1 else ''}, got {len(spec.channels)}")
    seen: set[str] = set()
    for i, ch in enumerate(spec.channels):
        if ch.type not in t.channels.allowed_types:
            yield doc.diagnostic(at("channels", i, "type"), f"{name} does not offer channel type '{ch.type}' (allowed: {', '.join(t.channels.allowed_types)})")
        if ch.type in seen:
            yield doc.diagnostic(at("channels", i, "type"), f"channel type '{ch.type}' appears twice")
        seen.add(ch.type)
        if ch.type in LINKED_CHANNELS and ch.linked is None and spec.status == "active":
            # A manual step on the host, after the gateway runs (issue 25 "Bad input"): without the file
            # saying whether it is done, the apply's smoke test would wait for a channel that cannot connect.
            step = LINKED_CHANNELS[ch.type].format(account=ch.account or "")
            yield doc.diagnostic(at("channels", i, "type"), f"manual step: {step}. Set linked: false to apply the "
                                 f"channel unlinked (the smoke test then accepts it not connected), linked: true once it is linked")

    n = len(spec.regions)
    if not t.hosting.regions_min <= n <= t.hosting.regions_max:
        want = str(t.hosting.regions_min) if t.hosting.regions_min == t.hosting.regions_max else f"{t.hosting.regions_min}-{t.hosting.regions_max}"
        yield doc.diagnostic(at("regions"), f"{name} needs {want} region{'s' if want != '1' else ''}, got {n}")
    if len(set(spec.regions)) != n:
        yield doc.diagnostic(at("regions"), "regions must be distinct")
    if catalog is not None and spec.provider in catalog.spec:
        known = catalog.spec[spec.provider].regions
        for i, region in enumerate(spec.regions):
            if region not in known:
                yield doc.diagnostic(at("regions", i), f"{spec.provider} has no region '{region}' (known: {', '.join(known)})")
            else:
                for problem in region_problems(spec.provider, tier, region, catalog, primary=i == 0):
                    yield doc.diagnostic(at("regions", i), problem)
        for problem in provider_problems(spec.provider, tier, catalog):
            yield doc.diagnostic(at("provider"), problem)
    if t.hosting.ha_modes and spec.ha_mode is None:
        yield doc.diagnostic(at("regions"), f"{name} needs haMode ({' or '.join(t.hosting.ha_modes)})")
    if spec.ha_mode is not None and spec.ha_mode not in t.hosting.ha_modes:
        yield doc.diagnostic(at("haMode"), f"{name} does not offer haMode '{spec.ha_mode}'")

    price = spec.billing.monthly_price
    band = t.price
    if price < band.min_monthly or (band.max_monthly is not None and price > band.max_monthly):
        top = f"{band.max_monthly:g}" if band.max_monthly is not None else "+"
        yield doc.diagnostic(at("billing", "monthlyPrice"), f"{name} is priced {band.min_monthly:g}-{top} USD/month, got {price:g}")

    if spec.custom_domain and not t.custom_domain:
        yield doc.diagnostic(at("customDomain"), f"{name} does not include a custom domain (Gold and up)")
    elif spec.custom_domain and t.kubernetes and not spec.custom_domain_delegated:
        # Manual step no workflow can do: the customer's DNS (issue 25 "Bad input"; docs/fresh-account.md).
        servers = plugin(spec.provider).name_servers if spec.provider in PLUGINS else ()
        yield doc.diagnostic(at("customDomain"), f"manual step first: {spec.custom_domain} is served by the global load "
                             f"balancer, whose TLS certificate {spec.provider} issues only for a name its DNS serves. The "
                             f"customer adds NS records for {spec.custom_domain} at their DNS pointing at "
                             f"{', '.join(servers) or 'the provider name servers'}; then set customDomainDelegated: true")
    if spec.custom_domain_delegated and not (spec.custom_domain and t.kubernetes):
        yield doc.diagnostic(at("customDomainDelegated"), "customDomainDelegated is for a Platinum customDomain")
    cname = bool(spec.custom_domain and t.custom_domain and not t.kubernetes)
    if cname and spec.status == "active" and not spec.custom_domain_cname_added:
        # Gold: certbot on the host answers Let's Encrypt's HTTP-01 at the custom domain, which
        # reaches the host only through the customer's CNAME, in a zone no workflow can write
        # (issue 25 "Bad input"; docs/fresh-account.md). The target is the stack's customer_dns_name.
        info = catalog.spec.get(spec.provider) if catalog is not None else None
        target = (info.entry_name(c.metadata.id, spec.white_label) if info else None) or f"{c.metadata.id}.<fleet zone>"
        yield doc.diagnostic(at("customDomain"), f"manual step first: {spec.custom_domain} gets its TLS certificate on "
                             f"the server from Let's Encrypt (HTTP-01), which reaches the server only through the "
                             f"customer's CNAME. The customer adds at their DNS: {spec.custom_domain} CNAME {target} "
                             f"; then set customDomainCnameAdded: true")
    if spec.custom_domain_cname_added and not cname:
        yield doc.diagnostic(at("customDomainCnameAdded"), "customDomainCnameAdded is for a Gold customDomain "
                             "(Platinum delegates the name: customDomainDelegated)")
    if t.paging.providers and spec.paging is None:
        yield doc.diagnostic(at("tier"), f"{name} pages on incidents: spec.paging ({' or '.join(t.paging.providers)}) is required")
    if spec.paging is not None and spec.paging.provider not in t.paging.providers:
        yield doc.diagnostic(at("paging"), f"{name} does not include paging via {spec.paging.provider}")
    if spec.notifications is not None and not t.paging.providers:
        yield doc.diagnostic(at("notifications"), f"{name} does not include Slack notifications (Gold and up)")
    if spec.model_endpoints and not t.custom_model_endpoints:
        yield doc.diagnostic(at("modelEndpoints"), f"{name} does not include custom model endpoints (Platinum)")
    for i, skill in enumerate(spec.skills):
        if skill.kind == "custom" and not t.skills.custom:
            yield doc.diagnostic(at("skills", i, "kind"), f"{name} includes standard skills only; custom skills start at Silver")
        if skill.kind == "integration" and not t.skills.advanced_integrations:
            yield doc.diagnostic(at("skills", i, "kind"), f"{name} does not include advanced integrations (Gold and up)")
    names = [s.name for s in spec.skills]
    if len(set(names)) != len(names):
        yield doc.diagnostic(at("skills"), "skill names must be distinct")
    for i, regime in enumerate(spec.compliance):
        if regime not in t.siem.compliance:
            yield doc.diagnostic(at("compliance", i), f"{name} does not include {regime} compliance logging")
    if spec.sla_override_percent is not None:
        if not t.sla.negotiable:
            yield doc.diagnostic(at("slaOverridePercent"), f"{name} SLA is fixed at {t.sla.target_percent:g}%")
        elif spec.sla_override_percent < t.sla.target_percent:
            yield doc.diagnostic(at("slaOverridePercent"), f"a negotiated SLA may only raise {name}'s {t.sla.target_percent:g}%")
    if spec.white_label and not t.white_label:
        yield doc.diagnostic(at("whiteLabel"), f"{name} does not include white-label")
    elif spec.white_label and catalog is not None and spec.provider in catalog.spec \
            and not catalog.spec[spec.provider].white_label_dns_zone:
        yield doc.diagnostic(at("whiteLabel"), f"{spec.provider} has no whiteLabelDnsZone in tiers/providers.yaml: "
                                               "a white-label customer's domain must not point at a name of ours")
    if spec.branding is not None and not spec.white_label:
        yield doc.diagnostic(at("branding"), "branding is for white-label customers (whiteLabel: true)")
    if spec.release_channel is not None and spec.release_channel not in t.release_channels.allowed:
        yield doc.diagnostic(at("releaseChannel"), f"{name} offers the OpenClaw release channel(s) "
                             f"{', '.join(t.release_channels.allowed)}, not {spec.release_channel}")
    if spec.databases and t.backups is None:
        yield doc.diagnostic(at("databases"), f"{name} has no backups, so database dumps are not offered")
    elif t.kubernetes:
        # Nothing in a managed-Kubernetes cluster runs a database: a declared one must be a managed
        # database the provider plug-in builds and the CronJob dumps (docs/backups.md "Platinum"), or
        # it is a promise nothing keeps.
        # (A provider that runs no cluster at all is refused at spec.provider already.)
        priced = catalog is None or (spec.provider in catalog.spec and catalog.spec[spec.provider].managed_postgres is not None)
        builds_none = spec.provider in PLUGINS and plugin(spec.provider).managed_kubernetes \
            and not (plugin(spec.provider).managed_postgres and priced)
        for i, db in enumerate(spec.databases):
            if db.engine == "mongodb":
                yield doc.diagnostic(at("databases", i, "engine"), f"{name} runs in a Kubernetes cluster, where nothing runs or "
                                     f"backs up MongoDB '{db.name}' (no managed MongoDB is built, no registry here ships "
                                     "mongodump: docs/backups.md \"MongoDB\")")
            elif builds_none:
                yield doc.diagnostic(at("databases", i, "engine"), f"{name} on {spec.provider} runs in a Kubernetes cluster, and "
                                     f"no managed PostgreSQL is built there for '{db.name}': nothing would run or back it up")
    endpoints = [e.name for e in spec.model_endpoints]
    if len(set(endpoints)) != len(endpoints):
        yield doc.diagnostic(at("modelEndpoints"), "endpoint names must be distinct")
    yield from openclaw_rule_errors(c, doc)


# The gateway's own token is an env ref on provider "default" (targets/openclaw.py).
GATEWAY_SECRET_PROVIDER = ("default", "env")


def _customer_secret_refs(spec) -> Iterable[tuple[tuple, Any]]:
    for i, ch in enumerate(spec.channels):
        for field in ("token", "botToken", "appToken", "appPassword"):
            ref = getattr(ch, _snake_case(field))
            if ref is not None:
                yield ("spec", "channels", i, field), ref
    for i, endpoint in enumerate(spec.model_endpoints):
        yield ("spec", "modelEndpoints", i, "apiKey"), endpoint.api_key


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def openclaw_rule_errors(c: Customer, doc: Document) -> Iterable[Diagnostic]:
    """What OpenClaw would refuse at boot (or fail to resolve) but its schema cannot see."""
    spec = c.spec
    # One provider alias = one secrets.providers entry = one source.
    source_of = {GATEWAY_SECRET_PROVIDER[0]: GATEWAY_SECRET_PROVIDER[1]}
    for path, ref in _customer_secret_refs(spec):
        known = source_of.setdefault(ref.provider, ref.source)
        if known != ref.source:
            yield doc.diagnostic(path, f"secret provider '{ref.provider}' is an {known} provider; "
                                       f"give {ref.source} refs their own provider name (e.g. provider: vault)")
    # A model on a custom endpoint must be one the endpoint serves.
    served = {e.name: set(e.models) for e in spec.model_endpoints}
    chosen = [(("spec", "model", "primary"), spec.model.primary)]
    chosen += [(("spec", "model", "fallbacks", i), m) for i, m in enumerate(spec.model.fallbacks)]
    for path, model in chosen:
        provider, _, model_id = model.partition("/")
        if provider in served and model_id not in served[provider]:
            yield doc.diagnostic(path, f"endpoint '{provider}' serves {', '.join(sorted(served[provider]))}, not '{model_id}'")


def secret_refs_in(model: BaseModel, path: tuple = ()) -> Iterable[tuple[tuple, Any]]:
    """Every SecretRef in a model, with its path in the document (YAML keys)."""
    from .models import SecretRef
    if isinstance(model, SecretRef):
        yield path, model
        return
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        key = info.alias or name
        items = list(enumerate(value)) if isinstance(value, (list, tuple)) else [(None, value)]
        for index, item in items:
            if isinstance(item, BaseModel):
                yield from secret_refs_in(item, path + ((key,) if index is None else (key, index)))


def _secret_key(ref) -> tuple:
    # an env ref names a variable whatever its provider alias; a file ref is an id in <provider>.json
    return ("env", ref.id) if ref.source == "env" else (ref.source, ref.provider, ref.id)


def secret_owner_errors(customers: list[LoadedCustomer], shared: Iterable[str] = (),
                        focus: frozenset[str] = frozenset(),
                        refs: dict[str, tuple] | None = None) -> Iterable[Diagnostic]:
    """A secret reference belongs to one customer, unless clawtex.yaml spec.sharedSecretRefs names it.
    The error goes to the later file by name; files in `focus` (the ones validated by name) count
    as later than the rest of the repository, so theirs is the error. `refs`: secret_refs_in of
    a customer's model by its file, where known (stored with its cached verdict)."""
    shared = set(shared)
    first: dict[tuple, tuple[LoadedCustomer, tuple]] = {}
    for lc in sorted(customers, key=lambda lc: (lc.doc.file in focus, lc.doc.file)):
        known = refs.get(lc.doc.file) if refs is not None else None
        for path, ref in (known if known is not None else secret_refs_in(lc.model)):
            if ref.id in shared:
                continue
            owner = first.setdefault(_secret_key(ref), (lc, path))
            if owner[0].model.metadata.id != lc.model.metadata.id:
                other = owner[0].doc.diagnostic(owner[1], "")
                yield lc.doc.diagnostic(path, f"secret {ref.source} '{ref.id}' is also used by customer "
                                              f"'{owner[0].model.metadata.id}' ({other.file}:{other.line}:{other.column}); "
                                              "each customer needs its own secret (a copied customer file keeps the "
                                              "original's secret ids), or list it in clawtex.yaml spec.sharedSecretRefs "
                                              "if it is meant to be shared fleet-wide")


def fleet_errors(customers: list[LoadedCustomer]) -> Iterable[Diagnostic]:
    """Rules across customers: unique ids and custom domains."""
    by_domain: dict[str, LoadedCustomer] = {}
    by_id: dict[str, LoadedCustomer] = {}
    for lc in customers:
        cid = lc.model.metadata.id
        if cid in by_id:
            yield lc.doc.diagnostic(("metadata", "id"), f"id '{cid}' is also used by {by_id[cid].doc.file}")
        by_id.setdefault(cid, lc)
        domain = lc.model.spec.custom_domain
        if domain:
            if domain in by_domain:
                yield lc.doc.diagnostic(("spec", "customDomain"), f"custom domain '{domain}' is also used by {by_domain[domain].doc.file}")
            by_domain.setdefault(domain, lc)


def discovery_errors(customers: list[LoadedCustomer], settings: Settings, tiers: dict[str, Tier]) -> Iterable[Diagnostic]:
    """A customer on managed Kubernetes whose nodes Prometheus finds through the provider's API
    (ProviderPlugin.discovers_k8s_nodes) needs that API's token declared, as a file reference."""
    refs = settings.spec.ops.prometheus.discovery_token_refs
    for lc in customers:
        spec = lc.model.spec
        tier = tiers.get(spec.tier)
        if tier is None or not tier.spec.kubernetes or spec.provider not in PLUGINS or spec.provider in refs:
            continue
        if plugin(spec.provider).discovers_k8s_nodes:
            yield lc.doc.diagnostic(("spec", "tier"), f"{spec.tier} on {spec.provider} runs on managed Kubernetes, whose "
                                    "nodes Prometheus discovers through the provider's API: set clawtex.yaml "
                                    f"spec.ops.prometheus.discoveryTokenRefs.{spec.provider} (a file reference to a "
                                    "read-only token on the ops host)")


def release_errors(customers: list[LoadedCustomer], settings: Settings, tiers: dict[str, Tier]) -> Iterable[Diagnostic]:
    """A customer's release channel is pinned in clawtex.yaml, with a plugin for each of its channels."""
    o = settings.spec.openclaw
    for lc in customers:
        if lc.model.spec.tier not in tiers:
            continue
        channel = release_channel(lc.model.spec, tiers[lc.model.spec.tier])
        where = ("spec", "releaseChannel") if lc.model.spec.release_channel else ("spec", "tier")
        try:
            version, _, plugins = o.release(channel)
        except KeyError as e:
            yield lc.doc.diagnostic(where, str(e.args[0]))
            continue
        for i, ch in enumerate(lc.model.spec.channels):
            if ch.type not in o.bundled_channels and ch.type not in plugins:
                yield lc.doc.diagnostic(("spec", "channels", i, "type"),
                                        f"no {ch.type} plugin is pinned for OpenClaw {version} (release channel "
                                        f"{channel}; clawtex.yaml spec.openclaw)")


def repo_config_bytes(root: Path) -> bytes:
    """Everything a customer file's verdict depends on besides the file itself."""
    paths = [root / "clawtex.yaml", *sorted((root / "tiers").glob("*.yaml"))]
    return b"\0".join(p.read_bytes() for p in paths if p.exists())


def cached_customer_file(path: Path, root: Path, tiers, catalog, errors: list[Diagnostic],
                         cache: Cache | Pack, refs: dict[str, tuple] | None = None) -> LoadedCustomer | None:
    """validate_customer_file, reused by content hash: unchanged files are not parsed again.
    `refs` receives the customer's secret_refs_in (by its file), stored with the verdict: the
    cross-customer secret rule then walks no model of an unchanged file."""
    try:
        key = cache.key(_relative_resolved(path, root).encode(), path.read_bytes())
    except OSError:
        return validate_customer_file(path, root, tiers, catalog, errors)
    hit = cache.get(key)
    if isinstance(hit, tuple) and len(hit) == 4:
        found, model, secret_refs, name = hit
        errors.extend(found)
        loaded = LoadedCustomer(model, SourceDocument(name, path)) if model is not None else None
        if refs is not None and loaded is not None:
            refs[loaded.doc.file] = secret_refs
        return loaded
    found: list[Diagnostic] = []
    loaded = validate_customer_file(path, root, tiers, catalog, found)
    secret_refs = tuple(secret_refs_in(loaded.model)) if loaded is not None else ()
    # The model and the file's name, not its Document: a hit re-reads positions only for a
    # diagnostic (load.SourceDocument).
    cache.put(key, (found, loaded.model if loaded is not None else None, secret_refs,
                    loaded.doc.file if loaded is not None else None))
    if refs is not None and loaded is not None:
        refs[loaded.doc.file] = secret_refs
    errors.extend(found)
    return loaded


def _relative_resolved(path: Path, root: Path) -> str:
    """relative() without resolving again when both are already resolved (customer_files)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return relative(path, root)


def cached_repo_config(root: Path, config: bytes, errors: list[Diagnostic], use_cache: bool = True):
    """load_repo_config + load_slo_windows, reused while clawtex.yaml and tiers/ are the same
    bytes (and names) and the compiler is the same: a hit builds no pydantic validator for
    the config models and imports no holiday calendar. Only a clean result is stored, so
    every diagnostic is reported from a fresh parse."""
    names = "\n".join(p.name for p in sorted((root / "tiers").glob("*.yaml"))).encode()
    cache = Cache(root, "config", enabled=use_cache)
    key = cache.key(names, config)
    hit = cache.get(key)
    if isinstance(hit, tuple) and len(hit) == 4:
        return hit
    found: list[Diagnostic] = []
    settings, catalog, tiers = load_repo_config(root, found)
    slo_windows = load_slo_windows(root, found)
    if not found:
        cache.put(key, (settings, catalog, tiers, slo_windows))
    errors.extend(found)
    return settings, catalog, tiers, slo_windows


def validate_repo(root: Path, files: Iterable[Path] | None = None, use_cache: bool = True) -> Inputs:
    """Load and validate the repository; raise CompileError with every problem."""
    errors: list[Diagnostic] = []
    config = repo_config_bytes(root)
    settings, catalog, tiers, slo_windows = cached_repo_config(root, config, errors, use_cache)
    cache = Pack(Cache(root, "customers", config, enabled=use_cache and not errors), "verdicts")
    customers = []
    resolved = root.resolve()
    refs: dict[str, tuple] = {}
    for path in customer_files(root, files):
        lc = cached_customer_file(path, resolved, tiers, catalog, errors, cache, refs)
        if lc is not None:
            customers.append(lc)
    # Rules across customers see the whole repository even when files are named (`validate FILE`:
    # a copied customer file keeps the original's secret ids, issue 27), and report the named files'.
    others: list[LoadedCustomer] = []
    if files:
        named = {p for p in customer_files(root, files)}
        for path in customer_files(root):
            if path.resolve() not in named:
                lc = cached_customer_file(path, resolved, tiers, catalog, [], cache, refs)   # their own errors: not asked
                if lc is not None:
                    others.append(lc)
    cache.save(keep_unused=bool(files))
    focus = frozenset(lc.doc.file for lc in customers)
    mine = (lambda d: d.file in focus) if files else (lambda d: True)
    errors.extend(d for d in fleet_errors(others + customers) if mine(d))
    if settings is not None:
        errors.extend(release_errors(customers, settings, tiers))
        errors.extend(discovery_errors(customers, settings, tiers))
        errors.extend(d for d in secret_owner_errors(others + customers, settings.spec.shared_secret_refs,
                                                      focus if files else frozenset(), refs) if mine(d))
    if errors or settings is None or catalog is None or slo_windows is None:
        raise CompileError(errors)
    return Inputs(settings, catalog, tiers, tuple(sorted(customers, key=lambda lc: lc.model.metadata.id)), slo_windows)
