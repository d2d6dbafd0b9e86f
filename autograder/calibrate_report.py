"""Tables for ``autograder calibrate``: every variant's ratio, the thresholds, the proposal, the gap."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from autograder.calibrate import MARGIN, Spectrum, summary


def print_spectra(console: Console, spectra: list[Spectrum]) -> None:
    """One table per timed function, then what to put in the manifest."""
    for s in spectra:
        table = Table(title=f"{s.part} ({s.device}, sizes {s.sizes})")
        for col in ("variant", "expected", "ratio: median (min..max)", "verdict now"):
            table.add_column(col)
        for v in s.variants:
            ratios = s.ratios.get(v.name) or []
            full = v.expects_full(s.part)
            if v.name in s.failures:
                verdict = f"[red]failed: {s.failures[v.name]}[/red]"
            elif full:
                verdict = "ok" if ratios and max(ratios) <= s.spec.full_at else "[red]loses points[/red]"
            else:
                verdict = "ok" if ratios and min(ratios) >= s.spec.zero_at else "[red]earns points[/red]"
            table.add_row(v.name, "full" if full else "none", summary(ratios), verdict)
        console.print(table)
        proposal = s.proposal()
        console.print(f"  now: full_at = {s.spec.full_at:g}, zero_at = {s.spec.zero_at:g}; slowest acceptable "
                      f"{s.slowest_acceptable():.2f}x, fastest unacceptable {s.fastest_unacceptable():.2f}x: "
                      f"separation {s.separation():.1f}x (thresholds fit with margin {MARGIN:g} when above "
                      f"{MARGIN ** 2:.2f}x)")
        if proposal is None:
            console.print("  [red]no separation: the variants cannot be told apart at these sizes; change "
                          f"sizes.{s.device} of {s.part}, not the contract[/red]")
        else:
            console.print(f"  proposal: full_at >= {proposal[0]:g}, zero_at <= {proposal[1]:g}")
        for problem in s.violations():
            console.print(f"  [red]{problem}[/red]", markup=True, highlight=False)
