"""The customer journey rehearsal: one fleet repository, everything on loopback.

    scripts/journey.sh [--tiers bronze,silver] [--keep DIR]

What is real here, and what stands in (docs/journey.md):
- the fleet repository is a bare git repository served over HTTP by `git http-backend`
  (GitHttpRemote); the webhook clones, fetches and pushes through it, and so do the
  deploy-time records (compiler/business/deploytime.push_records);
- the Stripe webhook is `clawtex webhook` (uvicorn, as deployed) in its own process,
  events signed with stripe-python's own signature helper;
- GitHub's REST/GraphQL API is GitHubStandIn: it records and answers the calls the
  webhook and the workflows make (pull requests, auto-merge, check runs, merge,
  issues) and squash-merges into the bare repository as GitHub would;
- the PR checks are the `run:` steps of .github/workflows/pr.yml, read from the file
  and run by bash in a checkout of the PR's merge commit (PullRequestChecks);
- the apply: `clawtex changed` picks the stacks; Terraform cannot run here, so
  FakeCloud writes what `terraform output -json` prints for each applied stack
  (compiler/gitops/cloud_outputs.py, the format's one definition), and the files
  scripts/gitops/apply-stack.sh leaves for the welcome job;
- the welcome job is apply.yml's `welcome` job's `run:` script, run by bash as
  written; its GitHub remote is redirected to the loopback remote with git's own
  `url.<base>.insteadOf`, its SMTP relay is aiosmtpd on loopback.
"""
from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import git
import httpx
import stripe
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path[:1]:
    sys.path.insert(0, str(REPO))          # this checkout's compiler, even when another one is pip-installed
WORKFLOWS = REPO / ".github" / "workflows"
OWNER, NAME = "clawtex", "fleet"
GITHUB_REPOSITORY = f"{OWNER}/{NAME}"
TOKEN = "ghs_journeyRehearsalToken0000"
SECRET = "whsec_journey_" + "b" * 24
SMTP_PASSWORD = "journey-relay-password"


def log(*args: Any) -> None:
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- Stripe


def stripe_signature(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header, computed by stripe-python's own signing helper
    (`WebhookSignature._compute_signature`, the one stripe-python's test suite signs with)."""
    ts = int(time.time()) if timestamp is None else timestamp
    sig = stripe.WebhookSignature._compute_signature(f"{ts}.{body.decode('utf-8')}", secret)
    return f"t={ts},{stripe.WebhookSignature.EXPECTED_SCHEME}={sig}"


def post_event(url: str, event: dict, secret: str = SECRET) -> httpx.Response:
    body = json.dumps(event).encode()
    return httpx.post(f"{url}/stripe/webhook", content=body, timeout=30,
                      headers={"Content-Type": "application/json", "Stripe-Signature": stripe_signature(body, secret)})


# ---------------------------------------------------------------- the git remote (git http-backend)


def _http_backend() -> str:
    out = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()
    path = Path(out) / "git-http-backend"
    if not path.exists():
        raise RuntimeError(f"git-http-backend not found in {out}")
    return str(path)


class _GitHandler(BaseHTTPRequestHandler):
    """CGI gateway to git-http-backend (git-http-backend(1): GIT_PROJECT_ROOT, GIT_HTTP_EXPORT_ALL,
    REMOTE_USER for receive-pack). Chunked request bodies (git uses them above http.postBuffer) are decoded."""

    project_root = ""
    backend = ""
    requests: list[tuple[str, str]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _cgi(self) -> None:
        path, _, query = self.path.partition("?")
        body = self._body() if self.command == "POST" else b""
        type(self).requests.append((self.command, path))
        env = {"GIT_PROJECT_ROOT": self.project_root, "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
               "QUERY_STRING": query, "REQUEST_METHOD": self.command, "REMOTE_USER": "journey",
               "REMOTE_ADDR": self.client_address[0], "CONTENT_TYPE": self.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": str(len(body)), "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
               "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        done = subprocess.run([self.backend], input=body, env=env, capture_output=True)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = done.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _cgi


class GitHttpRemote:
    """A bare repository served on 127.0.0.1 by git http-backend (push enabled)."""

    def __init__(self, bare: Path):
        self.bare = bare
        git.Repo(bare).git.config("http.receivepack", "true")
        handler = type("GitHandler", (_GitHandler,), {"project_root": str(bare.parent), "backend": _http_backend(),
                                                       "requests": []})
        self.handler = handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{bare.name}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "GitHttpRemote":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def rev(self, ref: str) -> str | None:
        try:
            return git.Repo(self.bare).git.rev_parse("--verify", "--quiet", ref)
        except git.GitCommandError:
            return None


# ---------------------------------------------------------------- GitHub, standing in


@dataclass
class PullRequest:
    number: int
    title: str
    head: str
    base: str
    body: str
    state: str = "open"               # open | closed
    merged: bool = False
    auto_merge: str | None = None     # merge method once enablePullRequestAutoMerge was called
    merge_sha: str | None = None
    approvals: list[str] = field(default_factory=list)


class GitHubStandIn:
    """The GitHub REST/GraphQL calls of the webhook and the workflows, recorded and answered
    in GitHub's documented shapes (REST "Pulls", "Checks", "Issues"; GraphQL
    enablePullRequestAutoMerge). Merging squashes into the bare repository, as GitHub does.

    `fail(n, after=...)` makes the next n mutating calls answer 502; with after=True the
    call takes effect first (the answer is lost on the way back), the nastier case."""

    def __init__(self, remote: GitHttpRemote, required_checks: list[str]):
        self.remote = remote
        self.required = list(required_checks)
        self.pulls: dict[int, PullRequest] = {}
        self.checks: dict[str, dict[str, str]] = {}     # head sha -> check name -> conclusion
        self.issues: list[dict[str, str]] = []
        self.calls: list[tuple[str, str, Any, int]] = []
        self.merges: list[tuple[int, str, str]] = []    # (number, before, after) on the base branch
        self._fail = 0
        self._fail_after = False
        self.lock = threading.RLock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = json.loads(self.rfile.read(length) or b"null") if length else None
                status, answer = stand_in.handle(self.command, self.path, data, self.headers.get("Authorization", ""))
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "GitHubStandIn":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, count: int, after: bool = False) -> None:
        with self.lock:
            self._fail, self._fail_after = count, after

    def _pull_json(self, pr: PullRequest) -> dict[str, Any]:
        return {"number": pr.number, "node_id": f"PR_kwJourney{pr.number:04d}", "state": pr.state,
                "title": pr.title, "body": pr.body, "merged": pr.merged, "merge_commit_sha": pr.merge_sha,
                "html_url": f"https://github.com/{GITHUB_REPOSITORY}/pull/{pr.number}",
                "head": {"ref": pr.head, "sha": self.remote.rev(f"refs/heads/{pr.head}"),
                         "label": f"{OWNER}:{pr.head}"},
                "base": {"ref": pr.base}, "auto_merge": {"merge_method": pr.auto_merge} if pr.auto_merge else None}

    def handle(self, method: str, raw_path: str, data: Any, auth: str) -> tuple[int, Any]:
        with self.lock:
            status, answer = self._route(method, raw_path, data, auth)
            self.calls.append((method, raw_path, data, status))
            return status, answer

    def _route(self, method: str, raw_path: str, data: Any, auth: str) -> tuple[int, Any]:
        if auth != f"Bearer {TOKEN}":
            return 401, {"message": "Bad credentials"}
        path, _, query = raw_path.partition("?")
        params = dict(urllib.parse.parse_qsl(query))
        prefix = f"/repos/{GITHUB_REPOSITORY}"
        mutating = method != "GET"
        if mutating and self._fail and not self._fail_after:
            self._fail -= 1
            return 502, {"message": "Server Error"}
        status, answer = self._do(method, path, params, data, prefix)
        if mutating and self._fail and self._fail_after:
            self._fail -= 1
            return 502, {"message": "Server Error"}
        return status, answer

    def _do(self, method: str, path: str, params: dict, data: Any, prefix: str) -> tuple[int, Any]:
        if path == f"{prefix}/pulls" and method == "POST":
            if not self.remote.rev(f"refs/heads/{data['head']}"):
                return 422, {"message": "Validation Failed", "errors": [{"field": "head", "code": "invalid"}]}
            if any(p.head == data["head"] and p.state == "open" for p in self.pulls.values()):
                return 422, {"message": "Validation Failed", "errors": [
                    {"message": f"A pull request already exists for {OWNER}:{data['head']}."}]}
            pr = PullRequest(len(self.pulls) + 1, data["title"], data["head"], data["base"], data.get("body", ""))
            self.pulls[pr.number] = pr
            return 201, self._pull_json(pr)
        if path == f"{prefix}/pulls" and method == "GET":
            head = params.get("head", "").split(":", 1)[-1]
            state = params.get("state", "open")
            return 200, [self._pull_json(p) for p in self.pulls.values()
                         if (not head or p.head == head) and (state == "all" or p.state == state)]
        if path.startswith(f"{prefix}/pulls/") and path.endswith("/merge") and method == "PUT":
            return self._merge(self.pulls[int(path.split("/")[-2])], (data or {}).get("merge_method", "merge"))
        if path.startswith(f"{prefix}/pulls/") and method == "GET":
            return 200, self._pull_json(self.pulls[int(path.split("/")[-1])])
        if path == "/graphql" and method == "POST":
            node = data["variables"]["id"]
            pr = next((p for p in self.pulls.values() if self._pull_json(p)["node_id"] == node), None)
            if pr is None:
                return 200, {"errors": [{"message": f"Could not resolve to a node with the global id of '{node}'"}]}
            method_ = "SQUASH" if "SQUASH" in data["query"] else "MERGE"
            pr.auto_merge = method_
            self._maybe_auto_merge(pr)
            return 200, {"data": {"enablePullRequestAutoMerge": {"pullRequest": {"number": pr.number}}}}
        if path == f"{prefix}/check-runs" and method == "POST":
            self.checks.setdefault(data["head_sha"], {})[data["name"]] = data.get("conclusion") or "pending"
            for pr in self.pulls.values():
                if self._pull_json(pr)["head"]["sha"] == data["head_sha"]:
                    self._maybe_auto_merge(pr)
            return 201, {"id": sum(len(v) for v in self.checks.values()), "name": data["name"],
                         "head_sha": data["head_sha"], "status": data.get("status"), "conclusion": data.get("conclusion")}
        if path == f"{prefix}/issues" and method == "POST":
            self.issues.append({"title": data["title"], "body": data.get("body", ""), "labels": data.get("labels", [])})
            return 201, {"number": 1000 + len(self.issues), "title": data["title"]}
        return 404, {"message": "Not Found", "path": path}

    def green(self, pr: PullRequest) -> bool:
        results = self.checks.get(self._pull_json(pr)["head"]["sha"] or "", {})
        return all(results.get(name) == "success" for name in self.required)

    def _maybe_auto_merge(self, pr: PullRequest) -> None:
        if pr.state == "open" and pr.auto_merge and self.green(pr):
            self._merge(pr, pr.auto_merge.lower())

    def _merge(self, pr: PullRequest, method: str) -> tuple[int, Any]:
        """Branch protection: every required check green. Squash the head onto the base."""
        if pr.state != "open":
            return 405, {"message": "Pull Request is not mergeable"}
        if not self.green(pr):
            return 405, {"message": "Required status checks have not succeeded"}
        before = self.remote.rev(f"refs/heads/{pr.base}")
        with tempfile.TemporaryDirectory(prefix="standin-merge-") as tmp:
            work = git.Repo.clone_from(str(self.remote.bare), tmp, branch=pr.base)
            with work.config_writer() as cfg:
                cfg.set_value("user", "name", "GitHub").set_value("user", "email", "noreply@github.com")
            work.git.fetch("origin", f"refs/heads/{pr.head}")
            work.git.merge("--squash", "FETCH_HEAD")
            work.git.commit("-m", f"{pr.title} (#{pr.number})\n\n{pr.body}")
            work.git.push("origin", f"HEAD:refs/heads/{pr.base}")
            after = work.head.commit.hexsha
        pr.state, pr.merged, pr.merge_sha = "closed", True, after
        self.merges.append((pr.number, before or "", after))
        return 200, {"sha": after, "merged": True, "message": "Pull Request successfully merged"}


# ---------------------------------------------------------------- workflows, read from their files


def _yaml(path: Path) -> dict:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


# The PR gate's steps that run here, by the `clawtex` subcommand their `run:` calls. The
# others (checkout, setup-python, the installer, the pytest suite, terraform plan, the
# comment) need GitHub's runners or the network; docs/journey.md lists them.
PR_CHECKS = ("validate", "compile --check", "check-removals", "pr-summary")


@dataclass(frozen=True)
class WorkflowStep:
    job: str
    name: str
    run: str
    check: str


def pr_check_steps(workflow: Path = WORKFLOWS / "pr.yml") -> list[WorkflowStep]:
    """The `run:` steps of pr.yml that call one of PR_CHECKS, as written in the file."""
    found: list[WorkflowStep] = []
    for job_id, job in _yaml(workflow)["jobs"].items():
        for step in job.get("steps", []):
            run = step.get("run", "")
            for check in PR_CHECKS:
                if f"clawtex {check}" in run:
                    found.append(WorkflowStep(job_id, step.get("name", check), run, check))
    missing = [c for c in PR_CHECKS if c not in {s.check for s in found}]
    if missing:
        raise RuntimeError(f"{workflow}: no run step calls clawtex {', '.join(missing)}")
    return found


def workflow_run(workflow: str, job: str, contains: str) -> str:
    """The `run:` script of the step of `job` whose script contains `contains`."""
    for step in _yaml(WORKFLOWS / workflow)["jobs"][job]["steps"]:
        if contains in step.get("run", ""):
            return step["run"]
    raise RuntimeError(f"{workflow}: job {job} has no run step containing {contains!r}")


def tool_shims(directory: Path) -> Path:
    """`clawtex` (this checkout's compiler, as `pip install .` would give) and `python` on PATH."""
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "clawtex"
    shim.write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m compiler.cli \"$@\"\n")
    shim.chmod(0o755)
    py = directory / "python"
    py.write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
    py.chmod(0o755)
    return directory


# ---------------------------------------------------------------- the journey


@dataclass
class StepTime:
    customer: str
    step: str
    seconds: float
    ok: bool
    detail: str = ""


class Journey:
    """One fleet: seed repository, loopback git remote, GitHub stand-in, SMTP inbox, the webhook."""

    def __init__(self, work: Path):
        self.work = work
        self.times: list[StepTime] = []
        self.stack = contextlib.ExitStack()

    # -- setup
    def __enter__(self) -> "Journey":
        try:
            self._setup()
        except BaseException:
            self.stack.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stack.close()

    def _setup(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.bin = tool_shims(self.work / "bin")
        self.smtp_port = free_port()
        self.inbox: list[tuple[str, list[str], bytes]] = []

        inbox = self.inbox

        class Inbox:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
                inbox.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
                return "250 OK"

        def auth(server, session, envelope, mechanism, data):
            return AuthResult(success=data.login == b"welcome@clawtex.example" and data.password == SMTP_PASSWORD.encode())

        controller = Controller(Inbox(), hostname="127.0.0.1", port=self.smtp_port, authenticator=auth,
                                auth_required=True, auth_require_tls=False)
        controller.start()
        self.stack.callback(controller.stop)

        seed = self.work / "seed"
        seed.mkdir(parents=True)
        for name in ("clawtex.yaml", "tiers", "customers", "modules", "generated", "billing"):
            src = REPO / name
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, seed / name)
        (seed / ".gitignore").write_text("/.clawtex-cache/\n__pycache__/\n")
        # The relay: aiosmtpd on loopback (the repo's relay is smtp.clawtex.example with STARTTLS).
        settings = seed / "clawtex.yaml"
        text = settings.read_text()
        relay = "host: smtp.clawtex.example\n      port: 587\n      security: starttls"
        if relay not in text:
            raise RuntimeError("clawtex.yaml spec.support.smtp is not the expected relay block")
        settings.write_text(text.replace(relay, f"host: 127.0.0.1\n      port: {self.smtp_port}\n      security: none"))
        # Its generated/ must still be what a fresh compile gives: clawtex.yaml feeds it.
        self._clawtex(seed, "compile")
        repo = git.Repo.init(seed, initial_branch="main")
        with repo.config_writer() as cfg:
            cfg.set_value("user", "name", "ops").set_value("user", "email", "ops@clawtex.example")
        repo.git.add("--all")
        repo.index.commit("fleet as of the rehearsal")
        bare = self.work / "git" / "fleet.git"
        git.Repo.init(bare, bare=True, initial_branch="main")
        repo.git.push(str(bare), "main")
        self.remote = self.stack.enter_context(GitHttpRemote(bare))
        checks = pr_check_steps()
        self.github = self.stack.enter_context(GitHubStandIn(self.remote, [s.name for s in checks]))
        self.check_steps = checks
        # The webhook's own clone, over HTTP.
        clone = git.Repo.clone_from(self.remote.url, self.work / "webhook-clone", branch="main")
        with clone.config_writer() as cfg:
            cfg.set_value("user", "name", "clawtex webhook").set_value("user", "email", "webhook@localhost")
        self.clone = Path(clone.working_dir)
        (self.work / "secret").write_text(SECRET)
        self.webhook_url = None
        self.addresses: dict[str, str] = {}           # host -> address, as the fake cloud assigned it

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}", "GITHUB_API_URL": self.github.url,
                "GITHUB_REPOSITORY": GITHUB_REPOSITORY, "GITHUB_TOKEN": TOKEN, "GH_TOKEN": TOKEN,
                "GIT_TERMINAL_PROMPT": "0", **extra}

    def _clawtex(self, root: Path, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "compiler.cli", "--root", str(root), *args], cwd=REPO,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"clawtex {' '.join(args)}: {done.stderr}{done.stdout}")
        return done

    def timed(self, customer: str, step: str, fn: Callable[[], Any]) -> Any:
        started = time.monotonic()
        ok, detail = False, ""
        try:
            out = fn()
            ok = out is not False
            return out
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"[:300]
            raise
        finally:
            self.times.append(StepTime(customer, step, time.monotonic() - started, ok, detail))
            log(f"{customer}: {step} {'ok' if ok else 'FAILED'} in {time.monotonic() - started:.1f} s")

    # -- 1. the webhook, as deployed
    def start_webhook(self) -> str:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "compiler.cli", "--root", str(self.clone), "webhook", "--host", "127.0.0.1",
             "--port", str(port), "--secret-file", str(self.work / "secret"), "--state",
             str(self.work / "state" / "events.sqlite3"), "--github-repo", GITHUB_REPOSITORY],
            cwd=REPO, env=self.env(), stdout=open(self.work / "webhook.log", "w"), stderr=subprocess.STDOUT)
        self.stack.callback(lambda: (proc.terminate(), proc.wait(30)))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("clawtex webhook exited: " + (self.work / "webhook.log").read_text()[-3000:])
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    self.webhook_url = url
                    return url
            time.sleep(0.2)
        raise RuntimeError("clawtex webhook did not answer /healthz within 60 s")

    def start_webhook_inprocess(self, backoff: float = 0.3, poll: float = 0.5) -> str:
        """The same app and worker in this process (uvicorn in a thread), with a short retry
        backoff so the fault tests see retries in seconds instead of Stripe-scale minutes."""
        import uvicorn
        from compiler.business import deploytime
        from compiler.business.webhook import EventQueue, GitHubPulls, PullRequestFlow, Worker, create_app
        pulls = GitHubPulls(GITHUB_REPOSITORY, token=TOKEN, dry_run=False, api=self.github.url)
        queue = EventQueue(self.work / "state" / "events.sqlite3")
        worker = Worker(queue, PullRequestFlow(self.clone, pulls).run, backoff=lambda n: backoff,
                        record=lambda records: deploytime.push_records(self.remote.url, records))
        original = worker.run_forever
        worker.run_forever = lambda stop, wake, poll_=poll: original(stop, wake, poll_)   # type: ignore[method-assign]
        self.queue = queue
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(SECRET, queue, worker), host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()

        def stop() -> None:
            server.should_exit = True
            thread.join(30)
        self.stack.callback(stop)
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        self.webhook_url = f"http://127.0.0.1:{port}"
        return self.webhook_url

    def wait_event(self, event_id: str, states: tuple[str, ...] = ("done",), timeout: float = 60) -> Any:
        """The in-process webhook's queue row once it reaches one of `states`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.queue.get(event_id)
            if row and row.state in states:
                return row
            time.sleep(0.2)
        raise TimeoutError(f"event {event_id} not {states} after {timeout:.0f} s: {self.queue.get(event_id)}")

    def wait_pr(self, head: str, timeout: float = 120) -> PullRequest:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.github.lock:
                found = [p for p in self.github.pulls.values() if p.head == head]
            if found and (not _auto_expected(found[0]) or found[0].auto_merge or found[0].state != "open"):
                return found[0]
            time.sleep(0.2)
        logfile = self.work / "webhook.log"
        queue = getattr(self, "queue", None)
        raise TimeoutError(f"no pull request for {head} after {timeout:.0f} s: "
                           + (logfile.read_text()[-3000:] if logfile.exists() else "")
                           + (json.dumps(queue.status()) if queue else ""))

    # -- 3. the PR gate, as pr.yml writes it
    def run_checks(self, pr: PullRequest) -> dict[str, str]:
        """Each PR_CHECKS step of pr.yml, in a checkout of the PR's merge commit (HEAD^1 = the base),
        reported to the stand-in as a check run."""
        work = self.work / "ci" / f"pr-{pr.number}"
        shutil.rmtree(work, ignore_errors=True)
        repo = git.Repo.clone_from(self.remote.url, work, branch=pr.base)
        with repo.config_writer() as cfg:
            cfg.set_value("user", "name", "GitHub").set_value("user", "email", "noreply@github.com")
        repo.git.fetch("origin", f"refs/heads/{pr.head}")
        head_sha = repo.git.rev_parse("FETCH_HEAD")
        repo.git.merge("--no-ff", "--no-edit", "FETCH_HEAD")
        results: dict[str, str] = {}
        for step in self.check_steps:
            env = self.env(GITHUB_STEP_SUMMARY=str(work.parent / f"pr-{pr.number}-summary.md"),
                           RUN_URL=f"https://github.com/{GITHUB_REPOSITORY}/actions/runs/{pr.number}")
            done = subprocess.run(["bash", "-eo", "pipefail", "-c", step.run], cwd=work, env=env,
                                  capture_output=True, text=True)
            conclusion = "success" if done.returncode == 0 else "failure"
            results[step.name] = conclusion
            (work.parent / f"pr-{pr.number}-{step.check.replace(' ', '_')}.log").write_text(done.stdout + done.stderr)
            httpx.post(f"{self.github.url}/repos/{GITHUB_REPOSITORY}/check-runs", timeout=30,
                       headers={"Authorization": f"Bearer {TOKEN}"},
                       json={"name": step.name, "head_sha": head_sha, "status": "completed", "conclusion": conclusion})
        failed = [step for step in self.check_steps if results[step.name] != "success"]
        if failed:
            # Ops are told by pr.yml's tell-ops job (`if: failure()`), its run script as written.
            jobs = {job: "failure" if any(s.job == job for s in failed) else "success"
                    for job in ("check", "summary")}
            done = subprocess.run(["bash", "-eo", "pipefail", "-c", workflow_run("pr.yml", "tell-ops", "issues")],
                                  cwd=work, capture_output=True, text=True,
                                  env=self.env(PR_NUMBER=str(pr.number), PR_TITLE=pr.title, CHECK_RESULT=jobs["check"],
                                               SUMMARY_RESULT=jobs["summary"], PYTHONPATH=str(REPO),
                                               RUN_URL=f"https://github.com/{GITHUB_REPOSITORY}/actions/runs/{pr.number}"))
            (work.parent / f"pr-{pr.number}-tell-ops.log").write_text(done.stdout + done.stderr)
            if done.returncode != 0:
                raise RuntimeError(f"pr.yml tell-ops failed: {done.stderr[-2000:]}")
        return results

    # -- 4. the apply path
    def apply(self, before: str, after: str, configure: Callable[[str, dict, Path], bool],
              provision: Callable[[str, Path], str] | None = None,
              final_backup: Callable[[str, dict, str], bool] | None = None) -> dict:
        """apply.yml on the merge commit: `changed` picks the stacks; the fake cloud writes each stack's
        `terraform output -json` and apply-stack.sh's onboarding files; `provision(host, checkout)`
        (live: boot a Debian root) gives a new server's address; `configure(stack, changed entry,
        checkout)` is the Ansible run (True = site.yml, which ends with its smoke test, passed).
        One checkout for every apply (the runner's), moved to the merge commit: a booted host
        bind-mounts it. `final_backup(stack, changed entry, base commit)` (live: site.yml --tags backup
        on the host, from the base commit's inventory) runs first for a stack whose departing
        customers still run somewhere (apply-stack.sh: "Final backup of departing customers: before
        any destroy"); False fails the stack, and nothing else of it runs."""
        work = self.work / "apply" / "checkout"
        if not work.exists():
            git.Repo.clone_from(self.remote.url, work, branch="main")
        repo = git.Repo(work)
        repo.git.fetch("origin", "main")
        repo.git.checkout("-f", "-B", "main", after)
        repo.git.clean("-fdxq")
        done = subprocess.run(["clawtex", "changed", "--base", before, "--head", after, "--json"], cwd=work,
                              env=self.env(), capture_output=True, text=True, check=True)
        (work / "changed.json").write_text(done.stdout)
        changed = json.loads(done.stdout)
        onboarding = work / "onboarding"
        (onboarding / "times").mkdir(parents=True)
        (onboarding / "outputs").mkdir()
        failed = []
        for entry in changed["stacks"]:
            stack = entry["stack"]
            if final_backup and entry.get("removed") and entry.get("limit"):
                if not final_backup(stack, entry, before):
                    failed.append(stack)
                    continue
            if entry["action"] == "destroy":
                continue
            for host in entry.get("hosts", []):
                if provision and host not in self.addresses:
                    self.addresses[host] = provision(host, work)
            outputs = fake_apply(work, stack, self.addresses)
            times = {"stack": stack, "apply_finished": _utc()}
            (onboarding / "outputs" / f"{stack}.json").write_text(json.dumps(outputs, indent=2) + "\n")
            (onboarding / "times" / f"{stack}.json").write_text(json.dumps(times) + "\n")
            if entry.get("limit"):
                if configure(stack, entry, work):
                    times["smoke_passed"] = _utc()
                    (onboarding / "times" / f"{stack}.json").write_text(json.dumps(times) + "\n")
                else:
                    failed.append(stack)
                    httpx.post(f"{self.github.url}/repos/{GITHUB_REPOSITORY}/issues", timeout=30,
                               headers={"Authorization": f"Bearer {TOKEN}"},
                               json={"title": f"apply failed: stack {stack} ({entry['action']})",
                                     "body": f"The {entry['action']} of stack `{stack}` at {after} failed."})
        record = self.work / "apply" / after[:12]          # what this run left, kept after the next one
        shutil.rmtree(record, ignore_errors=True)
        shutil.copytree(onboarding, record / "onboarding")
        shutil.copy2(work / "changed.json", record / "changed.json")
        return {"work": work, "record": record, "after": after, "changed": changed, "failed": failed}

    # -- 6. the welcome job, as apply.yml writes it
    def welcome_job(self, apply: dict, merged_at: str) -> subprocess.CompletedProcess:
        script = workflow_run("apply.yml", "welcome", "clawtex welcome")
        github_remote = f"https://x-access-token:{TOKEN}@github.com/{GITHUB_REPOSITORY}.git"
        env = self.env(CLAWTEX_SMTP_PASSWORD=SMTP_PASSWORD, MERGED_AT=merged_at,
                       GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0=f"url.{self.remote.url}.insteadOf",
                       GIT_CONFIG_VALUE_0=github_remote)
        return subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=apply["work"], env=env,
                              capture_output=True, text=True)

    def deploy_times(self) -> Path:
        """A checkout of the deploy-times branch, as `clawtex report --deploy-times` reads it."""
        from compiler.business.deploytime import RECORD_BRANCH
        out = self.work / "deploy-times"
        shutil.rmtree(out, ignore_errors=True)
        git.Repo.clone_from(self.remote.url, out, branch=RECORD_BRANCH)
        return out

    def received(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=email.policy.default) for _, _, raw in self.inbox]


# ---------------------------------------------------------------- the fake cloud


def fake_apply(checkout: Path, stack: str, addresses: dict[str, str]) -> dict[str, dict]:
    """What `terraform output -json` prints after applying generated/terraform/<stack>: every
    output the stack declares (its cdk.tf.json `output` block), literal values as written,
    computed ones filled by the fake cloud: a host's address output (named by the Terraform
    target's own host_output) is that host's address in `addresses` (the booted Debian root),
    else a TEST-NET-3 address (RFC 5737); other computed values name what they stand for."""
    import hashlib
    import re
    from compiler.business.handoff import output_entry
    from compiler.pipeline import plan_repo
    from compiler.targets.terraform import host_output
    declared = json.loads((checkout / "generated" / "terraform" / stack / "cdk.tf.json").read_text())["output"]
    plan = plan_repo(checkout)
    by_output = {host_output(h): h.name for h in plan.hosts if h.stack == stack}
    out: dict[str, dict] = {}
    for name, spec in sorted(declared.items()):
        value = spec["value"]
        if isinstance(value, str) and "${" in value:
            host = by_output.get(name)
            digest = int(hashlib.sha256(f"{stack}/{name}".encode()).hexdigest(), 16)
            if host:
                value = addresses.get(host) or f"203.0.113.{digest % 250 + 1}"
            elif name.endswith("ipv4"):                     # a private network address
                value = f"10.0.{digest % 250}.{digest % 200 + 2}"
            else:
                value = re.sub(r"\$\{([^}]*)\}", lambda m: m.group(1).replace(".", "-") + ".fake-cloud.invalid", value)
        out[name] = output_entry(value, bool(spec.get("sensitive", False)))
    return out


def _auto_expected(pr: PullRequest) -> bool:
    return "**Auto-merge:**" in pr.body


def _utc() -> str:
    from compiler.business.deploytime import utc
    return utc()


# ---------------------------------------------------------------- one customer, payment to welcome

# The journey's two customers: checkout metadata as our Payment Links carry it (tests/business_events.py).
CUSTOMERS = {
    "bronze": {"event": "evt_JourneyBronze01", "stripe": "cus_JourneyBronze1", "clawtex_id": "quill-notary",
               "display_name": "Quill Notary", "channels": "telegram", "region": "fsn1", "created_offset": 0},
    "silver": {"event": "evt_JourneySilver01", "stripe": "cus_JourneySilver1", "clawtex_id": "harbor-optics",
               "display_name": "Harbor Optics", "channels": "telegram,discord", "region": "fsn1", "created_offset": 60},
}


def checkout(tier: str, **over: Any) -> dict:
    sys.path.insert(0, str(REPO / "tests"))
    from business_events import CREATED, checkout_event
    c = {**CUSTOMERS[tier], **over}
    return checkout_event(c["event"], customer=c["stripe"], tier=tier, session=f"cs_{c['event']}",
                          created=over.get("created", int(time.time()) - 5 + c["created_offset"] * 0),
                          clawtex_id=c["clawtex_id"], display_name=c["display_name"], channels=c["channels"],
                          region=c["region"]) if CREATED else {}


def cancellation(tier: str, event_id: str, created: int | None = None) -> dict:
    sys.path.insert(0, str(REPO / "tests"))
    from business_events import PRICES, subscription_event
    c = CUSTOMERS[tier]
    price, amount = PRICES[tier]
    return subscription_event("deleted", event_id, customer=c["stripe"], price=price, amount=amount, tier=tier,
                              created=created or int(time.time()))


@dataclass
class Outcome:
    tier: str
    customer: str
    pr: PullRequest | None = None
    checks: dict[str, str] = field(default_factory=dict)
    apply: dict | None = None
    welcome: subprocess.CompletedProcess | None = None


def onboard(j: Journey, tier: str, configure: Callable[[str, dict, Path], bool], event: dict | None = None,
            provision: Callable[[str, Path], str] | None = None) -> Outcome:
    """Steps 1-4 and 6 for one customer: payment, PR, checks + merge, apply (+ configure), welcome."""
    event = event or checkout(tier)
    cid = event["data"]["object"]["metadata"]["clawtex_id"]
    out = Outcome(tier, cid)
    r = j.timed(cid, "1 payment (signed event -> 200)", lambda: post_event(j.webhook_url, event))
    if r.status_code != 200:
        raise RuntimeError(f"webhook answered {r.status_code}: {r.text}")
    out.pr = j.timed(cid, "2 pull request (branch pushed, PR opened)", lambda: j.wait_pr(f"stripe/{event['id']}"))
    out.checks = j.timed(cid, "3 checks (pr.yml run steps) + merge", lambda: j.run_checks(out.pr))
    if not out.pr.merged:
        log(f"{cid}: PR #{out.pr.number} not merged: {out.checks}")
        return out
    number, before, after = next(m for m in j.github.merges if m[0] == out.pr.number)
    merged_at = _utc()
    out.apply = j.timed(cid, "4 apply (changed -> fake cloud outputs) + 5 configure",
                        lambda: j.apply(before, after, configure, provision))
    out.welcome = j.timed(cid, "6 welcome job (apply.yml run script)", lambda: j.welcome_job(out.apply, merged_at))
    return out


def cancel(j: Journey, tier: str, event_id: str, created: int | None = None) -> PullRequest:
    """Step 8: `customer.subscription.deleted` posted; the decommission PR it opens (not auto-merged)."""
    deleted = cancellation(tier, event_id, created=created or int(time.time()) + 5)
    r = post_event(j.webhook_url, deleted)
    if r.status_code != 200:
        raise RuntimeError(f"webhook answered {r.status_code}: {r.text}")
    return j.wait_pr(f"stripe/{deleted['id']}", timeout=60)



def person_edits(j: Journey, pr: PullRequest, tmp: Path, customer: str, edit, name: str, email: str,
                 message: str) -> None:
    """A person's commit on the PR branch: the customer file edited in place (ruamel round trip, so
    their comments and order stay), generated/ recompiled, committed under their name, pushed."""
    work = git.Repo.clone_from(j.remote.url, tmp, branch=pr.head)
    path = tmp / "customers" / f"{customer}.yaml"
    yaml_rt = YAML()
    doc = yaml_rt.load(path.read_text())
    edit(doc)
    with path.open("w") as f:
        yaml_rt.dump(doc, f)
    j._clawtex(tmp, "compile")
    with work.config_writer() as cfg:
        cfg.set_value("user", "name", name).set_value("user", "email", email)
    work.git.add("--all")
    work.git.commit("-m", message)
    work.git.push("origin", pr.head)

def approve(j: Journey, pr: PullRequest, tmp: Path, customer: str, name: str = "Dana Ops") -> None:
    """A human's approval: approvedBy and date added to the webhook's decommission request on
    the PR branch (docs/approvals.md), generated/ recompiled, pushed."""
    def edit(doc) -> None:
        request = doc["spec"]["decommission"]
        if "approvedBy" in request or request.get("requestedBy") != "stripe":
            raise RuntimeError(f"not the webhook's bare request: {dict(request)}")
        request["approvedBy"], request["date"] = name, "2026-12-03"
    person_edits(j, pr, tmp, customer, edit, name, "dana@clawtex.example", f"Approve the decommission ({name})")


def add_skill(j: Journey, pr: PullRequest, tmp: Path, customer: str, skill: dict, name: str = "Sam Ops") -> None:
    """Ops add a customer's custom skill (name, kind, source, pinned ref) to the customer file on the
    PR branch, recompile generated/ and push: the checks then run on that commit."""
    person_edits(j, pr, tmp, customer, lambda doc: doc["spec"].__setitem__("skills", [dict(skill)]), name,
                 "sam@clawtex.example", f"Add the custom skill {skill['name']} ({name})")


def human_merge(j: Journey, pr: PullRequest) -> tuple[int, str, str]:
    """A person presses merge (squash); the stand-in refuses unless every required check is green."""
    status, answer = j.github.handle("PUT", f"/repos/{GITHUB_REPOSITORY}/pulls/{pr.number}/merge",
                                     {"merge_method": "squash"}, f"Bearer {TOKEN}")
    if status != 200:
        raise RuntimeError(f"merge refused: {status} {answer}")
    return next(m for m in j.github.merges if m[0] == pr.number)


def no_host(stack: str, entry: dict, checkout: Path) -> bool:
    """The fast journey's configure step: none (no booted host); the live journey runs Ansible."""
    log(f"configure {stack} ({entry.get('limit')}): not run in the fast journey (no booted host)")
    return True


def ansible_over_ssh(stack: str, entry: dict, checkout: Path) -> bool:
    """Configure as apply-stack.sh does (ansible-playbook site.yml --limit), each host addressed by
    the fake cloud's `terraform output -json` (ansible_host), nothing else: True if it converged."""
    from compiler.pipeline import plan_repo
    from compiler.targets.terraform import host_output
    outputs = json.loads((checkout / "onboarding" / "outputs" / f"{stack}.json").read_text())
    limit = [h for h in entry["limit"].split(",") if h]
    hosts = {h.name: h for h in plan_repo(checkout).hosts}
    overlay = {"all": {"hosts": {name: {"ansible_host": outputs[host_output(hosts[name])]["value"]} for name in limit}}}
    (checkout / "journey-addresses.yml").write_text(json.dumps(overlay))
    done = subprocess.run(["ansible-playbook", "-i", "generated/ansible/inventory", "-i", "journey-addresses.yml",
                           "modules/ansible/site.yml", "--limit", ",".join(limit)], cwd=checkout,
                          env={**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_TIMEOUT": "3",
                               "ANSIBLE_NOCOLOR": "1"}, capture_output=True, text=True, timeout=600)
    (checkout / f"ansible-{stack}.log").write_text(done.stdout + done.stderr)
    log(f"configure {stack}: ansible-playbook rc {done.returncode}")
    return done.returncode == 0


def main(argv: list[str] | None = None) -> int:
    import argparse
    p = argparse.ArgumentParser(description="rehearse a customer's journey on loopback (docs/journey.md)")
    p.add_argument("--tiers", default="bronze,silver")
    p.add_argument("--keep", help="work directory to keep (default: a temporary one, removed)")
    args = p.parse_args(argv)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="clawtex-journey-"))
    started = time.monotonic()
    with Journey(work) as j:
        j.start_webhook()
        for tier in args.tiers.split(","):
            out = onboard(j, tier, no_host)
            print(f"{tier}: PR #{out.pr.number if out.pr else '-'} checks {out.checks} "
                  f"welcome rc {out.welcome.returncode if out.welcome else '-'}")
        for t in j.times:
            print(f"{t.customer:<16} {t.step:<55} {t.seconds:7.1f} s  {'ok' if t.ok else 'FAILED ' + t.detail}")
        for msg in j.received():
            print(f"---- received: Subject: {msg['Subject']}\nTo: {msg['To']}\nFrom: {msg['From']}\n"
                  f"attachments: {[p.get_filename() for p in msg.iter_attachments()]}\n")
            print(msg.get_body(preferencelist=("plain",)).get_content())
        print(j._clawtex(REPO, "report", "--deploy-times", str(j.deploy_times())).stdout)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(f"journey: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
