# gvm-script: creates (once) the customer's target and task, then starts a scan.
# Arguments: customer id, targets file (one host per line), scan config id.
# `gmp` and `args` are provided by gvm-script.
customer, targets_file, scan_config = args.script[1:4]  # noqa: F821
with open(targets_file, encoding="utf-8") as fh:
    hosts = [line.strip() for line in fh if line.strip()]
name = f"clawtex-{customer}"
targets = gmp.get_targets(filter_string=f"name={name}")  # noqa: F821
target_id = targets.xpath("target/@id")
if not target_id:
    port_lists = gmp.get_port_lists(filter_string="name=\"All IANA assigned TCP\"")  # noqa: F821
    target_id = [gmp.create_target(name=name, hosts=hosts,  # noqa: F821
                                   port_list_id=port_lists.xpath("port_list/@id")[0]).get("id")]
tasks = gmp.get_tasks(filter_string=f"name={name}")  # noqa: F821
task_id = tasks.xpath("task/@id")
if not task_id:
    scanners = gmp.get_scanners(filter_string="name=\"OpenVAS Default\"")  # noqa: F821
    task_id = [gmp.create_task(name=name, config_id=scan_config, target_id=target_id[0],  # noqa: F821
                               scanner_id=scanners.xpath("scanner/@id")[0]).get("id")]
gmp.start_task(task_id[0])  # noqa: F821
