"""Print the Prometheus rule count for synthetic fleets of 10 and 1,000
customers (spread over the four tiers, plus the example customers' overrides).

    python3 bench/rule_count.py
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compiler.pipeline import plan_repo  # noqa: E402
from compiler.targets import prometheus  # noqa: E402


def count_for(n: int) -> int:
    plan = plan_repo(ROOT)
    base = list(plan.customers)
    synthetic = tuple(replace(base[i % len(base)], id=f"synthetic-{i:04d}", sla_is_override=False)
                      for i in range(n))
    # Keep the examples' negotiated SLAs: overrides are what add rules.
    overrides = tuple(c for c in base if c.sla_is_override)
    return prometheus.rule_count(replace(plan, customers=synthetic + overrides))


def main() -> None:
    for n in (10, 1000):
        print(f"{n} customers: {count_for(n)} rules")


if __name__ == "__main__":
    main()
