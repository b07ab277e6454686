# gvm-script (gvm-tools), run by clawtex-openvas-admin-password as _gvm. `gmp` and `args` are
# provided by gvm-script, which has already authenticated with the [gmp] user of its `-c` file.
#   check         nothing more: gvm-script's authentication was the check
#   set CONF      the `admin` user's password := CONF's [gmp] password (read here, from the file:
#                 never on a command line), keeping admin's roles, groups and host rules
#                 (gvmd's modify_user rewrites hosts and, when given, roles and groups:
#                 gvmd src/manage_sql_users.c modify_user; python-gvm modify_user's docstring:
#                 "empty values are inserted for the missing fields")
import configparser

action = args.script[1] if len(args.script) > 1 else "check"  # noqa: F821
if action == "set":
    conf = configparser.ConfigParser(default_section="main")   # gvm-tools' own reading (gvmtools/config.py)
    with open(args.script[2], encoding="utf-8") as fh:  # noqa: F821
        conf.read_file(fh)
    new_password = conf.get("gmp", "password")
    if conf.get("gmp", "username") != "admin" or not new_password:
        raise SystemExit("the config file names no password for admin")
    users = gmp.get_users(filter_string="name=admin rows=1")  # noqa: F821
    user = users.xpath("user[name='admin']")
    if len(user) != 1:
        raise SystemExit("gvmd has no user named admin")
    user = user[0]
    hosts = user.find("hosts")
    gmp.modify_user(  # noqa: F821
        user.get("id"), password=new_password,
        role_ids=user.xpath("role/@id"), group_ids=user.xpath("groups/group/@id"),
        hosts=[h.strip() for h in (hosts.text or "").split(",") if h.strip()] if hosts is not None else None,
        hosts_allow=hosts is not None and hosts.get("allow") == "1")
elif action != "check":
    raise SystemExit(f"unknown action {action}")
