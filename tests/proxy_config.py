"""What each host's reverse proxy serves, read from the nginx configs the
Ansible roles would write: the role templates rendered with the host's
generated inventory variables, then parsed (listen, server_name, location,
proxy_pass). Shared by the cross-target probe test and the live monitoring
test, which serves the same routes on loopback.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
import yaml

REPO = Path(__file__).resolve().parents[1]
INVENTORY = REPO / "generated" / "ansible" / "inventory"
ROLES = REPO / "modules" / "ansible" / "roles"
OPENCLAW_TEMPLATE = ROLES / "openclaw" / "templates" / "nginx-openclaw.conf.j2"
TLS_TEMPLATE = ROLES / "tls" / "templates" / "nginx-tls.conf.j2"


@dataclass(frozen=True)
class Location:
    prefix: str
    upstream_port: int
    upstream_path: str          # proxy_pass URI part: replaces the matched prefix


@dataclass(frozen=True)
class Server:
    port: int
    ssl: bool
    names: tuple[str, ...]
    locations: tuple[Location, ...]


def _env() -> jinja2.Environment:
    # The two Ansible filters the templates may use, with Ansible's semantics.
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             extensions=["jinja2.ext.do"])
    env.filters["regex_replace"] = lambda value, pattern, repl: re.sub(
        pattern, re.sub(r"\\(\d)", r"\\\1", repl), str(value))
    env.filters["zip"] = lambda a, *others: list(zip(a, *others))
    from ansible.plugins.test.core import version_compare   # Ansible's own `version` test
    env.tests["version"] = version_compare
    return env


class _Loader(yaml.SafeLoader):
    pass


# Ansible's `!unsafe` marks text it never templates; here it is just a string.
_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _load(path: Path):
    return yaml.load(path.read_text(), Loader=_Loader)


def host_variables(host: str) -> dict:
    """hosts.yml identity + all.vars + host_vars/<host>.yml, as Ansible merges them."""
    inventory = _load(INVENTORY / "hosts.yml")["all"]
    merged = dict(inventory.get("vars", {}))
    for group in inventory["children"].values():
        entry = (group.get("hosts") or {}).get(host)
        if entry:
            merged.update(entry)
    merged.update(_load(INVENTORY / "host_vars" / f"{host}.yml"))
    merged["ansible_managed"] = "Ansible managed"
    return merged


def rendered_configs(host: str) -> list[str]:
    """The nginx site files the openclaw and tls roles write on this host (none on Kubernetes)."""
    v = host_variables(host)
    if v.get("openclaw_mode") in (None, "kubernetes"):
        return []
    env = _env()
    out = [env.from_string(OPENCLAW_TEMPLATE.read_text()).render(**v)]
    if "tls" in v.get("clawtex_roles", []):
        # The role reads the installed nginx's version (a fact); both syntaxes listen alike.
        for nginx in ("1.22.1", "1.26.0"):        # Debian 12, and one with `http2 on;`
            out.append(env.from_string(TLS_TEMPLATE.read_text()).render(**v, tls_nginx_version=nginx))
    return out


def _blocks(text: str, keyword: str) -> list[str]:
    """Bodies of top-level `keyword ... { ... }` blocks (brace-matched)."""
    out, i = [], 0
    while (m := re.compile(rf"(?m)^\s*{keyword}\b[^{{]*\{{").search(text, i)):
        depth, j = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        out.append(text[m.end():j - 1])
        i = j
    return out


def parse_servers(config: str) -> list[Server]:
    servers = []
    for body in _blocks(config, "server"):
        listens = re.findall(r"(?m)^\s*listen\s+(?!\[)(\S+?)(\s[^;]*)?;", body)
        names = tuple(n for line in re.findall(r"(?m)^\s*server_name\s+([^;]+);", body) for n in line.split())
        locations = []
        for m in re.finditer(r"(?m)^\s*location\s+(\S+)\s*\{([^}]*)\}", body):
            proxy = re.search(r"proxy_pass\s+http://127\.0\.0\.1:(\d+)(/[^;]*)?;", m.group(2))
            if proxy:
                locations.append(Location(m.group(1), int(proxy.group(1)), proxy.group(2) or ""))
        for addr, opts in listens:
            port = int(addr.rsplit(":", 1)[-1])
            servers.append(Server(port, "ssl" in (opts or "").split(), names, tuple(locations)))
    return servers


def proxy_servers(host: str) -> list[Server]:
    return [s for text in rendered_configs(host) for s in parse_servers(text)]


def route(servers: list[Server], url: str) -> tuple[int, str] | None:
    """(upstream port, upstream path) the proxy sends `url` to, or None if nothing serves it."""
    u = urlsplit(url)
    port = u.port or {"http": 80, "https": 443}[u.scheme]
    for s in servers:
        if s.port != port or s.ssl != (u.scheme == "https"):
            continue
        if not ({u.hostname, "_"} & set(s.names)):
            continue
        best = max((l for l in s.locations if u.path.startswith(l.prefix)), key=lambda l: len(l.prefix), default=None)
        if best is None:
            return None
        path = best.upstream_path + u.path[len(best.prefix):] if best.upstream_path else u.path
        return best.upstream_port, path
    return None
