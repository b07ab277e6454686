"""The OpenVAS role keeps the scanner's admin password off every process command line (issue 24
item 2: "None of them lands ... on a process command line").

Was (075a030): `runuser -u _gvm -- gvmd --user=admin --new-password=<password>` at each converge,
and the scan unit's `gvm-script --gmp-password "$GVM_PASSWORD"`: both readable by any local user in
/proc/<pid>/cmdline. Now the password is in gvm-tools' config file (0600, _gvm's), read by
`gvm-script -c` (greenbone.github.io/gvm-tools/config.html; gvmtools/parser.py `-c/--config`), and
gvmd's password is set over GMP (files/clawtex-openvas-admin-password).

Greenbone's tools do not run here (Ubuntu packages, none in Debian 12: tests/live/test_hosts.py
CANNOT_RUN_HERE), so:
- ansible-playbook renders every task of the role that starts a process, and the scan unit; the
  password is in none of them, and the unit reads the file the role writes;
- the config file, as rendered by ansible-playbook, read the way gvm-tools reads it
  (configparser.ConfigParser(default_section="main"), gvmtools/config.py), gives the password back,
  `%` included;
- the password script runs with stand-ins for runuser, gvmd and gvm-script that record their argv and
  keep admin's password in a file: the bootstrap sets it, the next run changes nothing, and no argv
  ever holds the controller's password or the temporary user's.
"""
from __future__ import annotations

import configparser
import json
import os
import re
import subprocess

import pytest
import yaml

from test_ansible import INVENTORY, ROLES, ansible_env, run

ROLE = ROLES / "openvas"
HOST = "acme-logistics-wazuh"
PASSWORD = "pw%Ab-c_d" + "x7Q9"          # a `%` for ConfigParser's interpolation
RUNS_A_PROCESS = {"command", "shell", "raw", "script", "ansible.builtin.command", "ansible.builtin.shell",
                  "ansible.builtin.raw", "ansible.builtin.script"}


def _env_name() -> str:
    hv = yaml.safe_load((INVENTORY / "host_vars" / f"{HOST}.yml").read_text())
    return hv["openvas_admin_password_env"]


def _play(tmp_path, tasks: list[dict]) -> subprocess.CompletedProcess:
    play = [{"hosts": HOST, "connection": "local", "gather_facts": False,
             "vars_files": [str(ROLE / "defaults" / "main.yml")], "vars": {"clawtex_offline": False},
             "tasks": tasks}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    env = {**ansible_env(tmp_path), _env_name(): PASSWORD}
    r = run("ansible-playbook", "-i", str(INVENTORY), str(tmp_path / "play.yml"), env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def _tasks() -> list[dict]:
    return yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())


def test_no_task_of_the_role_puts_the_password_on_a_command_line(tmp_path):
    # Each task that starts a process, its arguments rendered by ansible-playbook (a debug task with the
    # same arguments and vars): the password is in none.
    starters = [t for t in _tasks() if RUNS_A_PROCESS & set(t)]
    assert starters, "the role starts no process?"
    out = tmp_path / "rendered"
    out.mkdir()

    def rendered(tasks: list[dict]) -> list:
        # Each task's arguments, rendered by ansible-playbook (with the task's own vars) into a file.
        plays = [{"name": t["name"], "vars": {**t.get("vars", {}), "clawtex_args": t[next(iter(RUNS_A_PROCESS & set(t)))]},
                  "ansible.builtin.copy": {"content": "{{ clawtex_args | to_json }}", "dest": str(out / f"{i}.json"),
                                           "mode": "0600"}} for i, t in enumerate(tasks)]
        _play(tmp_path, plays)
        return [json.loads((out / f"{i}.json").read_text()) for i in range(len(tasks))]
    results = rendered(starters)
    assert len(results) == len(starters)
    leaked = [t["name"] for t, args in zip(starters, results) if PASSWORD in json.dumps(args)]
    assert leaked == [], f"the password is on the command line of: {leaked}"
    # ... and the oracle sees one (the old task, 075a030).
    old = {"name": "old", "ansible.builtin.command": {"argv": [
        "runuser", "-u", "_gvm", "--", "gvmd", "--user=admin",
        "--new-password={{ lookup('ansible.builtin.env', openvas_admin_password_env) }}"]}}
    assert PASSWORD in json.dumps(rendered([old]))


def test_the_scan_unit_reads_the_password_from_the_file_the_role_writes(tmp_path):
    tasks = {t["name"]: t for t in _tasks()}
    conf_task = tasks["Scanner credentials (gvm-tools config file)"]
    copy = conf_task["ansible.builtin.copy"]
    assert copy["mode"] == "0600" and copy["owner"] == "_gvm" and conf_task.get("no_log") is True
    out = tmp_path / "out"
    out.mkdir()
    render = [
        {"name": "unit", "ansible.builtin.template": {"src": str(ROLE / "templates" / "clawtex-openvas-scan.service.j2"),
                                                       "dest": str(out / "scan.service"), "mode": "0600"}},
        {"name": "conf", "ansible.builtin.copy": {"content": copy["content"], "dest": str(out / "gvm-tools.conf"),
                                                   "mode": "0600"}},
    ]
    _play(tmp_path, render)
    unit = (out / "scan.service").read_text()
    execs = [line for line in unit.splitlines() if line.startswith("ExecStart")]
    assert len(execs) == 1 and PASSWORD not in unit and "password" not in execs[0].lower(), unit
    assert "EnvironmentFile" not in unit, unit
    argv = execs[0].partition("=")[2].split()
    assert argv[:3] == ["/usr/bin/gvm-script", "-c", copy["dest"]], argv     # the file the role writes
    # gvm-tools' reading of it (gvmtools/config.py Config.load: ConfigParser(default_section="main")).
    conf = configparser.ConfigParser(default_section="main")
    conf.read_file((out / "gvm-tools.conf").open())
    assert (conf.get("gmp", "username"), conf.get("gmp", "password")) == ("admin", PASSWORD)


FAKES = {
    # runuser -u USER -- CMD...: runs CMD (the stand-ins record who they ran as).
    "runuser": '#!/bin/sh\n[ "$1" = -u ] && [ "$3" = -- ] || exit 2\nu=$2; shift 3\nRUNAS=$u exec "$@"\n',
    # gvmd --create-user=NAME --role=Admin | --delete-user=NAME: users in $STATE/users/NAME (password).
    "gvmd": r'''#!/usr/bin/env python3
import os, sys, uuid
state = os.environ["STATE"]
arg = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
if "create-user" in arg:
    p = os.path.join(state, "users", arg["create-user"])
    if os.path.exists(p):
        sys.exit("User exists already.")
    pw = str(uuid.uuid4())
    open(p, "w").write(pw)
    print("User created with password '%s'." % pw)
elif "delete-user" in arg:
    os.remove(os.path.join(state, "users", arg["delete-user"]))
else:
    sys.exit("unexpected: %s" % sys.argv)
''',
    # gvm-script -c CONF socket SCRIPT ARGS: authenticates with CONF's [gmp] user (as gvm-tools reads it);
    # `set OTHER_CONF` sets admin's password from OTHER_CONF, as the role's GMP script does.
    "gvm-script": r'''#!/usr/bin/env python3
import configparser, os, sys
state = os.environ["STATE"]
assert os.environ.get("RUNAS") == "_gvm", "gvm-script must not run as root"
a = sys.argv[1:]
assert a[0] == "-c" and a[2] == "socket", a
conf = configparser.ConfigParser(default_section="main"); conf.read_file(open(a[1]))
user, pw = conf.get("gmp", "username"), conf.get("gmp", "password")
p = os.path.join(state, "users", user)
if not os.path.exists(p) or open(p).read() != pw:
    sys.exit("Authentication failed")
action = a[4:]
if action[:1] == ["set"]:
    new = configparser.ConfigParser(default_section="main"); new.read_file(open(action[1]))
    open(os.path.join(state, "users", "admin"), "w").write(new.get("gmp", "password"))
''',
}


def test_the_password_script_sets_admin_over_gmp_and_no_argv_holds_a_password(tmp_path):
    script = ROLE / "files" / "clawtex-openvas-admin-password"
    state, bin_ = tmp_path / "state", tmp_path / "bin"
    (state / "users").mkdir(parents=True)
    bin_.mkdir()
    (state / "users" / "admin").write_text("random-from-gvm-setup")
    argv_log = tmp_path / "argv.log"
    for name, body in FAKES.items():
        # Every stand-in logs its argv first (what /proc/<pid>/cmdline would show), then runs.
        real = bin_ / f"{name}.real"
        real.write_text(body)
        real.chmod(0o755)
        (bin_ / name).write_text(f'#!/bin/sh\nprintf "%s\\0" "{name}" "$@" >>"{argv_log}"; printf "\\n" >>"{argv_log}"\n'
                                 f'exec "{real}" "$@"\n')
        (bin_ / name).chmod(0o755)
    conf = tmp_path / "gvm-tools.conf"
    conf.write_text(f"[gmp]\nusername = admin\npassword = {PASSWORD.replace('%', '%%')}\n")
    text = script.read_text().replace("/etc/clawtex/openvas/gvm-tools.conf", str(conf))
    text = text.replace("chown _gvm", ": chown _gvm")          # no _gvm user here
    local = tmp_path / "clawtex-openvas-admin-password"
    local.write_text(text)
    env = {"PATH": f"{bin_}:/usr/bin:/bin", "STATE": str(state), "TMPDIR": str(tmp_path)}

    def once() -> str:
        r = subprocess.run(["/bin/sh", str(local)], capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout.strip().splitlines()[-1]

    assert once() == "changed"
    assert (state / "users" / "admin").read_text() == PASSWORD
    assert sorted(p.name for p in (state / "users").iterdir()) == ["admin"], "the temporary user is left"
    assert [p for p in tmp_path.glob("tmp.*")] == [], "the temporary config file is left"
    assert once() == "unchanged"
    calls = [c.split("\0")[:-1] for c in argv_log.read_text().split("\0\n") if c]
    temp_passwords = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", argv_log.read_text())
    assert any(c[0] == "gvmd" and "--create-user=clawtex-password-reset" in c for c in calls), calls
    assert not any(PASSWORD in arg or "random-from-gvm-setup" in arg for c in calls for arg in c), calls
    assert temp_passwords == [], "the temporary user's password was on a command line"
    # The oracle: the old way (gvmd --new-password=...) would have been seen.
    subprocess.run([str(bin_ / "runuser"), "-u", "_gvm", "--", "true", f"--new-password={PASSWORD}"], env=env)
    assert PASSWORD in argv_log.read_text()


@pytest.mark.parametrize("answer", ["", "User exists already.", "User created."])
def test_the_password_script_fails_on_an_unexpected_gvmd_answer(tmp_path, answer):
    """gvmd --create-user's answer is parsed; anything else stops the converge (nothing half-set)."""
    script = ROLE / "files" / "clawtex-openvas-admin-password"
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "runuser").write_text(FAKES["runuser"])
    (bin_ / "gvm-script").write_text("#!/bin/sh\nexit 1\n")
    (bin_ / "gvmd").write_text(f"#!/bin/sh\ncase \"$1\" in --create-user=*) echo '{answer}';; esac\nexit 0\n")
    for f in bin_.iterdir():
        f.chmod(0o755)
    local = tmp_path / "s"
    local.write_text(script.read_text().replace("chown _gvm", ": chown _gvm"))
    r = subprocess.run(["/bin/sh", str(local)], capture_output=True, text=True, timeout=60,
                       env={"PATH": f"{bin_}:/usr/bin:/bin", "TMPDIR": str(tmp_path)})
    assert r.returncode != 0 and "changed" not in r.stdout, (r.stdout, r.stderr)
