#!/usr/bin/env python3
"""Rebuild a provider's resource schemas from its Go source (no terraform binary).

Reads a provider repository (a bare git dir at a tag, or a checkout) and
evaluates the literal `schema.Resource{Schema: map[string]*schema.Schema{...}}`
of every resource in the provider's ResourcesMap (terraform-plugin-sdk v2):
attribute types, required/optional/computed, force_new, sensitive, literal
defaults and conflicts_with, nested blocks (TypeList/TypeSet of a Resource)
with their min/max items, the implicit `id` and the `timeouts` block.

Usage:
  python3 extract_provider_schemas.py --git-dir PATH/TO/terraform-provider-vultr.git \\
      --ref v2.32.0 --provider vultr --source vultr/vultr -o vultr.json
  python3 extract_provider_schemas.py ... --compare vultr.json   # report differences only

Not covered (reported as warnings, and kept from --keep FILE when given):
resources written with terraform-plugin-framework (some of hcloud's), schemas
assembled by helper functions or merged maps, and conditional rules checked in
provider code at plan time.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

TOKEN = re.compile(r'''
    (?P<ws>\s+) | (?P<comment>//[^\n]*|/\*.*?\*/) |
    (?P<str>"(?:\\.|[^"\\])*"|`[^`]*`) | (?P<num>-?\d+(?:\.\d+)?) |
    (?P<ident>[A-Za-z_][\w.]*) | (?P<punct>[{}()\[\],:&*=;<>!+\-/|.])
''', re.S | re.X)


def tokens(text: str) -> list[tuple[str, str]]:
    out = []
    for m in TOKEN.finditer(text):
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            continue
        out.append((kind, m.group()))
    return out


class Parser:
    """Just enough Go composite-literal syntax for schema declarations."""

    def __init__(self, toks):
        self.t, self.i = toks, 0

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else ("eof", "")

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def value(self):
        kind, text = self.peek()
        if text == "&":
            self.take()
            return self.value()
        if text == "{":
            return self.body(None)
        if text == "[":                               # []string{...} / []interface{}{...}
            while self.peek()[1] != "{":
                self.take()
            if self.peek(1)[1] == "}" and self.t[self.i - 1][1] == "interface":
                self.take(); self.take()
            return self.body("slice")
        if text == "map":                             # map[string]*schema.Schema{...}
            depth = 0
            while True:
                k, s = self.take()
                if s == "[":
                    depth += 1
                elif s == "]":
                    depth -= 1
                elif s == "{" and depth == 0:
                    self.i -= 1
                    return self.body("map")
        if kind == "str":
            self.take()
            return text[1:-1] if text[0] == '"' else text[1:-1]
        if kind == "num":
            self.take()
            return float(text) if "." in text else int(text)
        if kind == "ident" and text == "func":       # a closure (ValidateFunc: func(...) ... {...})
            self.take()
            self.skip_group("(", ")")
            while self.peek()[1] not in ("{", ""):
                if self.peek()[1] == "(":
                    self.skip_group("(", ")")
                else:
                    self.take()
            self.skip_group("{", "}")
            return {"__func__": True}
        if kind == "ident":
            self.take()
            if self.peek()[1] == "{":                 # schema.Resource{...}
                body = self.body(None)
                return {"__type__": text, **body} if isinstance(body, dict) else {"__type__": text, "__items__": body}
            if self.peek()[1] == "(":                 # a call: keep its name, skip its arguments
                self.skip_group("(", ")")
                while self.peek()[1] == ".":          # chained calls
                    self.take(); self.take()
                    if self.peek()[1] == "(":
                        self.skip_group("(", ")")
                return {"__call__": text}
            return {"true": True, "false": False, "nil": None}.get(text, {"__ident__": text})
        self.take()
        return {"__unknown__": text}

    def skip_group(self, open_, close):
        depth = 0
        while True:
            _, s = self.take()
            if s == open_:
                depth += 1
            elif s == close:
                depth -= 1
                if depth == 0:
                    return
            elif s == "":
                return

    def body(self, kind):
        assert self.take()[1] == "{"
        items, fields = [], {}
        while self.peek()[1] not in ("}", ""):
            first = self.value()
            if self.peek()[1] == ":":
                self.take()
                key = first["__ident__"] if isinstance(first, dict) and "__ident__" in first else first
                fields[key] = self.value()
            else:
                items.append(first)
            if self.peek()[1] == ",":
                self.take()
        self.take()
        if kind == "slice" or (items and not fields):
            return items
        return fields


class Source:
    def __init__(self, git_dir=None, ref=None, directory=None):
        self.git_dir, self.ref, self.dir = git_dir, ref, directory

    def files(self):
        if self.git_dir:
            out = subprocess.check_output(["git", "--git-dir", self.git_dir, "ls-tree", "-r", "--name-only", self.ref]).decode()
            return [p for p in out.splitlines() if p.endswith(".go") and not p.endswith("_test.go")]
        return [str(p.relative_to(self.dir)) for p in Path(self.dir).rglob("*.go") if not p.name.endswith("_test.go")]

    def read(self, path):
        if self.git_dir:
            return subprocess.check_output(["git", "--git-dir", self.git_dir, "show", f"{self.ref}:{path}"]).decode("utf-8", "replace")
        return (Path(self.dir) / path).read_text(encoding="utf-8", errors="replace")

    def commit(self):
        if self.git_dir:
            return subprocess.check_output(["git", "--git-dir", self.git_dir, "rev-parse", f"{self.ref}^{{commit}}"]).decode().strip()
        return None


def find_func(texts: dict[str, str], name: str) -> tuple[str, str] | None:
    """(file, text after the header) of `func name() *schema.Resource`; `pkg.Name` looks in package pkg."""
    pkg, _, func = name.rpartition(".")
    header = re.compile(rf"func\s+{re.escape(func)}\s*\(\s*\)\s*\*schema\.Resource\s*{{")
    for path, text in texts.items():
        if pkg and not re.search(rf"^package\s+{re.escape(pkg)}\b", text, re.M):
            continue
        m = header.search(text)
        if m:
            return path, text[m.end():]
    return None


TYPES = {"schema.TypeString": "string", "schema.TypeInt": "int", "schema.TypeBool": "bool",
         "schema.TypeFloat": "float", "schema.TypeList": "list", "schema.TypeSet": "set", "schema.TypeMap": "map"}


def ident(v):
    return v.get("__ident__") if isinstance(v, dict) else None


HELPERS: dict[str, str] = {}          # all Go sources, for resolving schema helper functions


def resolve(value):
    """A schema map, or the literal map a helper function (`Schema: fooSchema()`) returns."""
    if isinstance(value, dict) and "__call__" in value:
        func = value["__call__"].rpartition(".")[2]
        header = re.compile(rf"func\s+{re.escape(func)}\s*\([^)]*\)\s*map\[string\]\*schema\.Schema\s*{{")
        for text in HELPERS.values():
            m = header.search(text)
            if m:
                r = re.compile(r"return\s+map\[string\]\*schema\.Schema\s*{").search(text, m.end())
                if r:
                    parsed = Parser(tokens(text[r.start() + len("return"):])).value()
                    return parsed if isinstance(parsed, dict) else None
        return None
    return value


def convert(schema_map: dict, warnings: list, where: str) -> tuple[dict, dict]:
    attributes, blocks = {}, {}
    for name, spec in sorted(schema_map.items()):
        if not isinstance(spec, dict) or "Type" not in spec:
            warnings.append(f"{where}.{name}: not a literal schema")
            continue
        rtype = TYPES.get(ident(spec["Type"]) or "", "unknown")
        flags = {k: spec.get(k) is True for k in ("Required", "Optional", "Computed")}
        elem = spec.get("Elem")
        if rtype in ("list", "set") and isinstance(elem, dict) and elem.get("__type__") == "schema.Resource":
            inner = resolve(elem.get("Schema"))
            if not isinstance(inner, dict):
                warnings.append(f"{where}.{name}: block schema not literal")
                inner = {}
            attrs, sub = convert(inner, warnings, f"{where}.{name}")
            blocks[name] = {"kind": "block", "nesting": rtype,
                            "min_items": spec.get("MinItems", 0) if isinstance(spec.get("MinItems", 0), int) else 0,
                            "max_items": spec.get("MaxItems", 0) if isinstance(spec.get("MaxItems", 0), int) else 0,
                            "required": flags["Required"], "optional": flags["Optional"], "computed": flags["Computed"],
                            "attributes": attrs, "blocks": sub}
            continue
        entry = {"kind": "attribute", "type": rtype, "required": flags["Required"], "optional": flags["Optional"],
                 "computed": flags["Computed"]}
        if isinstance(elem, dict) and elem.get("__type__") == "schema.Schema":
            entry["element_type"] = TYPES.get(ident(elem.get("Type")) or "", "unknown")
        if spec.get("ForceNew") is True:
            entry["force_new"] = True
        if spec.get("Sensitive") is True:
            entry["sensitive"] = True
        if "Default" in spec and isinstance(spec["Default"], (str, int, float, bool)):
            entry["default"] = spec["Default"]
        for key, out in (("ConflictsWith", "conflicts_with"), ("ExactlyOneOf", "exactly_one_of"), ("RequiredWith", "required_with")):
            if isinstance(spec.get(key), list) and all(isinstance(x, str) for x in spec[key]):
                entry[out] = spec[key]
        attributes[name] = entry
    return attributes, blocks


def resources_map(texts: dict[str, str]) -> dict[str, str]:
    for text in texts.values():
        m = re.search(r"ResourcesMap:\s*map\[string\]\*schema\.Resource\s*{", text)
        if m:
            body = text[m.end():]
            depth, end = 1, 0
            for end, ch in enumerate(body):
                depth += ch == "{"
                depth -= ch == "}"
                if depth == 0:
                    break
            return dict(re.findall(r'"(\w+)"\s*:\s*([\w.]+)\(\)', body[:end]))
    return {}


def extract(src: Source, provider: str, source: str, version: str | None) -> dict:
    texts = {p: src.read(p) for p in src.files()}
    HELPERS.clear()
    HELPERS.update(texts)
    out = {"provider": provider, "source": source, "version": version, "commit": src.commit(),
           "resources": {}, "extraction_warnings": []}
    warnings = out["extraction_warnings"]
    for rtype, func in sorted(resources_map(texts).items()):
        found = find_func(texts, func)
        if found is None:
            warnings.append(f"{rtype}: {func}() not found")
            continue
        _, text = found
        m = re.search(r"return\s+&schema\.Resource\s*{", text)
        if m is None:
            warnings.append(f"{rtype}: no literal schema.Resource")
            continue
        parser = Parser(tokens(text[m.end() - 1:]))
        resource = parser.body(None)
        schema_map = resolve(resource.get("Schema"))
        if not isinstance(schema_map, dict):
            warnings.append(f"{rtype}: Schema is not a literal map")
            continue
        attributes, blocks = convert(schema_map, warnings, rtype)
        attributes.setdefault("id", {"kind": "attribute", "type": "string", "required": False, "optional": True,
                                     "computed": True, "note": "implicit SDKv2 id"})
        if "Timeouts" in resource:
            names = [k.lower() for k in resource["Timeouts"] if not k.startswith("__")] \
                if isinstance(resource["Timeouts"], dict) else []
            blocks["timeouts"] = {"kind": "block", "nesting": "single", "min_items": 0, "max_items": 1,
                                  "attributes": {n: {"kind": "attribute", "type": "string", "required": False,
                                                     "optional": True, "computed": False} for n in names},
                                  "blocks": {}}
        out["resources"][rtype] = {"attributes": attributes, "blocks": blocks, "source": "go:sdkv2"}
    return out


def compare(new: dict, old: dict) -> list[str]:
    """What differs, resource by resource, in what the tests rely on."""
    diffs = []

    def walk(a: dict, b: dict, where: str):
        for name in sorted(set(a.get("attributes", {})) | set(b.get("attributes", {}))):
            x, y = a.get("attributes", {}).get(name), b.get("attributes", {}).get(name)
            if x is None or y is None:
                diffs.append(f"{where}.{name}: {'only in the checked-in file' if x is None else 'new in the source'}")
                continue
            for key in ("type", "required", "optional", "computed", "force_new"):
                if x.get(key) != y.get(key):
                    diffs.append(f"{where}.{name}.{key}: source {x.get(key)!r}, checked in {y.get(key)!r}")
        for name in sorted(set(a.get("blocks", {})) | set(b.get("blocks", {}))):
            x, y = a.get("blocks", {}).get(name), b.get("blocks", {}).get(name)
            if x is None or y is None:
                diffs.append(f"{where}.{name} (block): {'only in the checked-in file' if x is None else 'new in the source'}")
                continue
            walk(x, y, f"{where}.{name}")

    for rtype in sorted(set(new["resources"]) | set(old["resources"])):
        a, b = new["resources"].get(rtype), old["resources"].get(rtype)
        if a is None or b is None:
            diffs.append(f"{rtype}: {'not extracted from the source' if a is None else 'not in the checked-in file'}")
            continue
        walk(a, b, rtype)
    return diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--git-dir")
    ap.add_argument("--ref", default="HEAD")
    ap.add_argument("--dir", help="a checkout instead of a git dir")
    ap.add_argument("--provider", required=True)
    ap.add_argument("--source", required=True, help="registry source address, e.g. vultr/vultr")
    ap.add_argument("--version")
    ap.add_argument("-o", "--out")
    ap.add_argument("--keep", help="checked-in file whose resources the source could not give are kept from")
    ap.add_argument("--compare", help="checked-in file to compare with; prints differences, writes nothing")
    a = ap.parse_args()
    new = extract(Source(a.git_dir, a.ref, a.dir), a.provider, a.source, a.version or a.ref.lstrip("v"))
    if a.compare:
        diffs = compare(new, json.loads(Path(a.compare).read_text()))
        print("\n".join(diffs) or "no differences")
        print(f"{len(new['resources'])} resources extracted, {len(diffs)} difference(s), "
              f"{len(new['extraction_warnings'])} warning(s)", file=sys.stderr)
        return 0
    if a.keep:
        kept = json.loads(Path(a.keep).read_text())
        for rtype, body in kept["resources"].items():
            new["resources"].setdefault(rtype, body)
    Path(a.out or f"{a.provider}.json").write_text(json.dumps(new, indent=1, sort_keys=False) + "\n")
    for w in new["extraction_warnings"]:
        print("warning:", w, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
