"""The report's figures, drawn with matplotlib and inlined as PNGs (the report needs no server).

They are sized by what they show, not by the class: a histogram's bins follow the distinct
scores (so 3 students read as 3 bars with whole-number counts, 1,500 as a distribution),
per-test bars grow with the number of tests and carry whole names, wrapped, never cut.
"""

from __future__ import annotations

import base64
import io
import textwrap
from collections import Counter
from typing import Any

WRAP = 36


def _png(draw: Any, width: float = 7, height: float = 3.2) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    draw(ax)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def wrapped(name: str) -> str:
    return "\n".join(textwrap.wrap(name, WRAP)) or name


def score_histogram(scores: list[float], max_score: float) -> str:
    from matplotlib.ticker import MaxNLocator

    distinct = len(set(scores))
    bins = min(25, max(5, distinct)) if len(scores) > 30 else max(1, min(25, int(max_score) or 1))

    def draw(ax: Any) -> None:
        counts, edges, bars = ax.hist(scores, bins=bins, range=(0, max_score or 1), color="#4477aa",
                                      edgecolor="white")
        if len(scores) <= 30:
            ax.bar_label(bars, labels=[f"{int(c)}" if c else "" for c in counts], fontsize=8)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(f"score (of {max_score:g})")
        ax.set_ylabel("students")
        ax.set_title(f"{len(scores)} students", fontsize=9)

    return _png(draw)


def pass_rates(names: list[str], rates: dict[str, float], counts: dict[str, int]) -> str:
    labels = [wrapped(n) for n in names]
    lines = sum(label.count("\n") + 1 for label in labels)

    def draw(ax: Any) -> None:
        bars = ax.barh(range(len(names)), [rates[n] * 100 for n in names], color="#228833")
        ax.set_yticks(range(len(names)), labels, fontsize=7)
        ax.bar_label(bars, labels=[f"{rates[n]:.0%} of {counts[n]}" for n in names], fontsize=7, padding=2)
        ax.invert_yaxis()
        ax.set_xlim(0, 115)
        ax.set_xlabel("% of students with full points")

    return _png(draw, width=9, height=max(2.5, 0.16 * lines + 0.12 * len(names) + 1))


def timing_ratios(ratios: dict[str, list[float]]) -> str:
    def draw(ax: Any) -> None:
        ax.boxplot(list(ratios.values()), orientation="horizontal", tick_labels=[wrapped(n) for n in ratios])
        ax.set_xscale("log")
        ax.axvline(1.0, color="grey", linestyle=":")
        ax.set_xlabel("time / reference time (log); each box is every student's ratio")

    return _png(draw, height=max(2.5, 0.5 * len(ratios) + 1))


def slowest(rows: list[dict[str, Any]]) -> str:
    def draw(ax: Any) -> None:
        ax.barh([r["student"] for r in rows], [r["seconds"] for r in rows], color="#ccbb44")
        ax.invert_yaxis()
        ax.set_xlabel("seconds to grade")

    return _png(draw, height=max(2.0, 0.3 * len(rows) + 1))


def failure_kinds(kinds: Counter) -> str:
    def draw(ax: Any) -> None:
        from matplotlib.ticker import MaxNLocator

        items = kinds.most_common()
        ax.barh([k for k, _ in items], [n for _, n in items], color="#ee6677")
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("failed cases (and ungraded submissions)")

    return _png(draw, height=max(2.0, 0.3 * len(kinds) + 1))
