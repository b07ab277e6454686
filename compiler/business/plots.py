"""matplotlib figures as SVG, embedded in report HTML as data: URIs (an <img>,
so nothing in a figure can script the page). Deterministic output: fixed hash
salt and no creation date in the SVG metadata (matplotlib rcParams
`svg.hashsalt`, savefig `metadata={"Date": None}`). Titles and labels are
passed as plain text (`usetex` off, `$` escaped) so customer text never reaches
mathtext."""
from __future__ import annotations

import base64
import io
from datetime import datetime, timezone

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

matplotlib.rcParams.update({"svg.hashsalt": "clawtex-report", "svg.fonttype": "path", "font.size": 9,
                            "axes.spines.top": False, "axes.spines.right": False})
PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777")


def _text(s: str) -> str:
    return str(s).replace("$", r"\$")


def _svg(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")



def _times(points):
    return [datetime.fromtimestamp(t, timezone.utc) for t, _ in points]


def lines(title: str, series: dict[str, list[tuple[float, float]]], ylabel: str = "", percent: bool = False,
          ylim: tuple[float, float] | None = None, hline: float | None = None) -> str:
    fig, ax = plt.subplots(figsize=(7.5, 2.4))
    for i, (name, points) in enumerate(series.items()):
        ys = [v * 100 if percent else v for _, v in points]
        ax.plot(_times(points), ys, label=_text(name), color=PALETTE[i % len(PALETTE)], linewidth=1.2)
    if hline is not None:
        ax.axhline(hline, color="#6b7280", linestyle="--", linewidth=0.8)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_title(_text(title), loc="left")
    ax.set_ylabel(_text(ylabel))
    # Ticks at even steps from the first day: matplotlib's default restarts them on each month's
    # 1st, which put "29 Sep" and "01 Oct" on top of each other (issue 27, screenshot review).
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(interval_multiples=False))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    if len(series) > 1:
        ax.legend(loc="lower left", fontsize=7, frameon=False, ncol=min(len(series), 4))
    ax.grid(alpha=0.3)
    return _svg(fig)


def bars(title: str, labels: list[str], groups: dict[str, list[float]], ylabel: str = "", percent: bool = False,
         hline: float | None = None, stacked: bool = False, colors: dict[str, str] | None = None,
         ylim: tuple[float, float] | None = None, counts: bool = False) -> str:
    """Grouped or stacked bars; `counts`: whole-number ticks (no "0.2 customers")."""
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    n = max(len(groups), 1)
    width = 0.8 if stacked else 0.8 / n
    bottoms = [0.0] * len(labels)
    for i, (name, values) in enumerate(groups.items()):
        ys = [v * 100 if percent else v for v in values]
        xs = [x if stacked else x - 0.4 + width * (i + 0.5) for x in range(len(labels))]
        color = (colors or {}).get(name, PALETTE[i % len(PALETTE)])
        ax.bar(xs, ys, width, bottom=bottoms if stacked else None, label=_text(name), color=color)
        if stacked:
            bottoms = [b + y for b, y in zip(bottoms, ys)]
    if hline is not None:
        ax.axhline(hline, color="#6b7280", linestyle="--", linewidth=0.8)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_xticks(range(len(labels)), [_text(l) for l in labels], rotation=30 if len(labels) > 6 else 0,
                  ha="right" if len(labels) > 6 else "center")
    ax.set_title(_text(title), loc="left")
    ax.set_ylabel(_text(ylabel))
    if counts:
        from matplotlib.ticker import MaxNLocator
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if len(groups) > 1:      # beside the plot, never over a bar
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    return _svg(fig)
