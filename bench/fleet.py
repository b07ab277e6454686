"""Synthesize a fleet of N customers from the bundled examples, in the founding
document's tier mix (50 Bronze : 20 Silver : 10 Gold : 2 Platinum)."""
from __future__ import annotations

import shutil
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIX = (("bronze", 50), ("silver", 20), ("gold", 10), ("platinum", 2))
TEMPLATES = {
    "bronze": ["pixel-bakery", "nordic-yoga", "tiny-legal", "corner-garage"],
    "silver": ["mapleleaf-dental", "brightpath-tutors"],
    "gold": ["acme-logistics", "helios-energy"],
    "platinum": ["orbital-health"],
}


def tier_counts(n: int) -> list[tuple[str, int]]:
    total = sum(weight for _, weight in MIX)
    counts = [(tier, n * weight // total) for tier, weight in MIX]
    counts[0] = (counts[0][0], counts[0][1] + n - sum(c for _, c in counts))   # remainder to Bronze
    return counts


def make_repo(dest: Path, n: int) -> Path:
    dest.mkdir(parents=True)
    for name in ("clawtex.yaml", "tiers", "modules", "billing"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        elif src.exists():
            shutil.copy2(src, dest / name)
    (dest / "customers").mkdir(parents=True)
    index = 0
    for tier, count in tier_counts(n):
        for k in range(count):
            index += 1
            template = TEMPLATES[tier][k % len(TEMPLATES[tier])]
            write_customer(dest, template, f"c{index:05d}-{tier}", index)
    return dest


def write_customer(dest: Path, template: str, cid: str, index: int) -> None:
    text = (REPO / "customers" / f"{template}.yaml").read_text()
    upper = template.upper().replace("-", "_")
    text = text.replace(template, cid).replace(upper, cid.upper().replace("-", "_"))
    # Stripe ids and onboarding dates must differ per customer.
    for line in text.splitlines():
        if "stripeCustomerId:" in line or "stripeSubscriptionId:" in line:
            prefix = line.split(":", 1)[1].strip()[:4]
            text = text.replace(line, line.split(":", 1)[0] + f": {prefix}Bench{index:08d}")
        if "onboardedOn:" in line:
            text = text.replace(line, f'  onboardedOn: "2026-{index % 12 + 1:02d}-{index % 28 + 1:02d}"')
    (dest / "customers" / f"{cid}.yaml").write_text(own_secret_ids(text, cid))


def own_secret_ids(text: str, cid: str) -> str:
    """Give a cloned customer file its own secret reference ids (validation refuses a
    secret id two customers share, issue 27): env ids get the customer's prefix, file
    ids a directory of their own."""
    prefix = cid.upper().replace("-", "_")
    text = re.sub(r"(\{source: env(?:, provider: [\w-]+)?, id: )([A-Z][A-Z0-9_]*)",
                  lambda m: m[1] + (m[2] if m[2].startswith(prefix + "_") else f"{prefix}_{m[2]}"), text)
    return re.sub(r"(\{source: file(?:, provider: [\w-]+)?, id: )(/?)([^,}\s]+)",
                  lambda m: m[1] + m[2] + (m[3] if m[3].startswith(cid + "/") else f"{cid}/{m[3]}"), text)
