"""A customer's custom skills, served by a real git remote on the booted host's loopback.

The inventory names each skill's remote (a GitHub URL) and pinned ref. Here a bare repository
per skill, holding a SKILL.md (OpenClaw's skill format: YAML front matter with name and
description) and, on another branch, a later commit the ref does not point at, is served by
`git daemon` on 127.0.0.1:9418 inside the host's network namespace. The one overlay (as the
S3 endpoint in tests/live/backups.py): each skill's `source` becomes that loopback URL, name and
pinned ref stay the inventory's. (git's `url.<base>.insteadOf` would keep the inventory's URL,
but the git module compares `git ls-remote --get-url origin`, which applies the rewrite, with
its `repo`, and so reported every run `changed` with `remote_url_changed`: seen live.)
The remote is up from the host's boot (tests/live/test_hosts.py `booted`), so the converge
itself clones the skill and its idempotency run covers the clone (changed=0). Then the
gateway's own CLI (`openclaw skills list --json`, run with the gateway unit's user and
environment) must list each skill as eligible, from the extra skills dir.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import git

from live import hosts

PORT = 9418    # git daemon's registered port (git-daemon(1))


HOST_TREE = """
import hashlib, json, os, sys
top = sys.argv[1]
out = {}
for d, dirs, files in os.walk(top):
    dirs[:] = [x for x in dirs if x != ".git"]
    for f in files:
        data = open(os.path.join(d, f), "rb").read()
        out[os.path.relpath(os.path.join(d, f), top)] = hashlib.sha1(b"blob %d\\0" % len(data) + data).hexdigest()
print(json.dumps(out))
"""


class SkillRemote:
    def __init__(self, h: hosts.Host, skills: list[dict] | None = None, port: int = PORT, base: str = "skill-remotes"):
        """`skills` default: the host's inventory skills; another remote on the same host (the Silver
        journey's new customer, tests/live/journey.py) takes its own port and directory."""
        self.h = h
        self.skills = h.hostvars().get("openclaw_skills", []) if skills is None else skills
        self.port = port
        self.base = h.dir / base
        self.commits: dict[str, str] = {}     # name -> the commit at the pinned ref
        self.unpinned: dict[str, str] = {}    # name -> a later commit on another branch of the same remote
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "SkillRemote":
        shutil.rmtree(self.base, ignore_errors=True)
        self.base.mkdir(parents=True)
        for skill in self.skills:
            work = self.base / "work" / skill["name"]
            repo = git.Repo.init(work, initial_branch="main")
            (work / "SKILL.md").write_text(
                f"---\nname: {skill['name']}\ndescription: {self.description(skill['name'], True)}\n---\n"
                f"# {skill['name']}\n\nAnswer step by step.\n")
            repo.index.add(["SKILL.md"])
            author = git.Actor("clawtex live suite", "live@clawtex.example")
            repo.index.commit("the skill", author=author, committer=author)
            if skill["ref"] != "main":                    # the pinned ref: a tag, branch or commit
                repo.create_tag(skill["ref"])
            self.commits[skill["name"]] = repo.head.commit.hexsha
            # A later commit the ref does not point at: a clone of the wrong ref would land there.
            repo.create_head("unpinned").checkout()
            (work / "SKILL.md").write_text((work / "SKILL.md").read_text().replace(
                self.description(skill["name"], True), self.description(skill["name"], False)) + "\nNot the pinned version.\n")
            repo.index.add(["SKILL.md"])
            self.unpinned[skill["name"]] = repo.index.commit("after the pin", author=author, committer=author).hexsha
            repo.heads.main.checkout()
            bare = self.base / f"{skill['name']}.git"
            git.Repo.clone_from(str(work), bare, bare=True)
            (bare / "git-daemon-export-ok").touch()
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.h.name, "git", "daemon", "--listen=127.0.0.1", f"--port={self.port}",
             "--reuseaddr", f"--base-path={self.base}", str(self.base)],
            stdout=open(self.base / "git-daemon.log", "w"), stderr=subprocess.STDOUT)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(30)

    @staticmethod
    def description(name: str, pinned: bool) -> str:
        """SKILL.md's description at the pinned commit, and at the later one: a listing that shows the
        pinned one read the pinned file."""
        return f"{name} (live suite skill, served on loopback{', pinned' if pinned else ', after the pin'})"

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}.git"

    def tree(self, name: str, commit: str) -> dict[str, str]:
        """path -> blob id of the skill's tree at `commit`, read from the remote's bare repository here
        (not from the host, not from the role)."""
        bare = git.Repo(self.base / f"{name}.git")
        return {b.path: b.hexsha for b in bare.commit(commit).tree.traverse() if b.type == "blob"}

    def host_tree(self, name: str, skills_dir: str = "/var/lib/openclaw/skills") -> dict[str, str]:
        """path -> git blob id of every file in the skill's directory on the host, outside .git, hashed
        from the files themselves (what the gateway reads; git's blob id: sha1 of "blob <size>\\0" + data,
        gitformat-object(5)), not from the clone's index or HEAD."""
        r = self.h.sh(f"python3 -c {hosts.shlex_quote(HOST_TREE)} {skills_dir}/{name}")
        assert r.returncode == 0, r.stdout + r.stderr
        return json.loads(r.stdout)

    def extra_vars(self) -> dict:
        """The skills reachable, each from its loopback remote at the inventory's pinned ref."""
        if not self.skills:
            return {}
        return {"clawtex_skills_reachable": True,
                "openclaw_skills": [{**s, "source": self.url(s["name"])} for s in self.skills]}

    def observe(self) -> dict:
        """What the host has: each skill directory's HEAD, and the gateway CLI's listing (or its error)."""
        skills_dir = "/var/lib/openclaw/skills"
        heads = {s["name"]: self.h.sh(f"git -C {skills_dir}/{s['name']} rev-parse HEAD").stdout.strip()
                 for s in self.skills}
        # The gateway unit's user and environment, read from the unit itself.
        unit = self.h.sh("systemctl cat openclaw-gateway.service").stdout
        props = [line for line in unit.splitlines()
                 if line.split("=", 1)[0] in ("User", "Group", "Environment", "EnvironmentFile")]
        prefix = next(line.split("=", 1)[1].split()[0] for line in unit.splitlines() if line.startswith("ExecStart="))
        cli = str(Path(prefix).parent / "openclaw")
        args = " ".join(f"-p {hosts.shlex_quote(p)}" for p in props)
        listed = self.h.sh(f"systemd-run --quiet --wait --pipe --collect {args} {cli} skills list --json")
        try:
            return {"heads": heads, "listed": {s["name"]: s for s in json.loads(listed.stdout)["skills"]}}
        except (ValueError, KeyError):
            return {"heads": heads, "error": (listed.stdout + listed.stderr)[-2000:]}

    @staticmethod
    def problems(seen: dict, pinned: dict[str, str]) -> dict[str, str]:
        """Problems per skill ({} = every skill of `pinned` cloned at its commit and listed as eligible
        from the extra skills dir)."""
        if "error" in seen:
            return {"openclaw skills list": seen["error"]}
        out: dict[str, str] = {}
        for name, commit in pinned.items():
            head = seen["heads"].get(name)
            s = seen["listed"].get(name)
            if head != commit:
                out[name] = f"cloned {head or 'nothing'}, pinned {commit}"
            elif not s or not s.get("eligible") or s.get("disabled") or s.get("source") != "openclaw-extra":
                out[name] = f"gateway lists {s}"
            elif "description" in s and s["description"] != SkillRemote.description(name, True):
                out[name] = f"gateway lists the description {s['description']!r}, not the pinned SKILL.md's"
        return out

    def check(self) -> dict[str, str]:
        """Problems per skill ({} = every skill cloned at its pinned commit and listed as eligible)."""
        seen = self.observe()
        self.listed = {n: s for n, s in seen.get("listed", {}).items() if n in self.commits}
        return self.problems(seen, self.commits)
