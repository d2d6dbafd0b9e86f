"""The ``autograder`` command. Thin: parse, call the API function, print.

Exit status: 0 when grading ran (whatever the score), 2 for a usage error with
a one-line message, 1 only when the framework itself failed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

import autograder.cli_author  # noqa: F401  (registers the authors' commands on the same app)
from autograder import __version__
from autograder import cli_app as ui
from autograder.cli_app import Device, DeviceOpt, LmsFormat, app, existing
from autograder.course import FrameworkError, UsageError, list_assignments, resolve_assignment
from autograder.manifest import ManifestError


@app.command("list")
def list_cmd() -> None:
    """The assignments, their points and parts."""
    from autograder.report_cli import print_assignments

    print_assignments(ui.out, list_assignments())


@app.command()
def check(
    assignment: Annotated[str, typer.Argument(help="slug or assignment folder")],
    submission: Annotated[Path | None, typer.Argument(help="defaults to ./<slug>.py")] = None,
    device: DeviceOpt = Device.auto,
) -> None:
    """Run the public tests on your work and explain what to fix."""
    from autograder import prestart

    a = resolve_assignment(assignment)
    path = existing(submission or Path.cwd() / a.manifest.submission_file, "submission")
    spawner = prestart.take(a, device.value)  # the worker imports torch while we import torch and pytest
    try:
        from autograder.grading import grade as grade_api
        from autograder.report_cli import print_report

        report = grade_api(a, path, mode="check", device=device.value, spawner=spawner)
    finally:
        if spawner is not None:
            spawner.close()
    print_report(ui.out, a, report, audience="student")


@app.command()
def grade(
    assignment: Annotated[str, typer.Argument(help="slug or assignment folder")],
    submission: Annotated[Path, typer.Argument(help=".py file, folder, .zip or .ipynb")],
    results: Annotated[Path | None, typer.Option("--results", help="write results.json here")] = None,
    device: DeviceOpt = Device.auto,
    seed: Annotated[int | None, typer.Option(help="override the manifest's seed")] = None,
) -> None:
    """All tests, hidden ones included; writes a Gradescope-format results file."""
    from autograder.grading import grade as grade_api
    from autograder.report_cli import print_report

    a = resolve_assignment(assignment)
    path = existing(submission, "submission")
    report = grade_api(a, path, mode="grade", device=device.value, seed=seed, results_path=results)
    print_report(ui.out, a, report, audience="staff")
    if results is not None:
        ui.out.print(f"results written to {results}")


@app.command()
def batch(
    assignment: Annotated[str, typer.Argument(help="slug or assignment folder")],
    submissions: Annotated[Path, typer.Argument(help="folder with one entry per student")],
    out_dir: Annotated[Path, typer.Option("--out", help="where the gradebook, results and report go")],
    jobs: Annotated[int | None, typer.Option("--jobs", help="submissions graded at once (default: cores)")] = None,
    device: DeviceOpt = Device.cpu,
    similarity: Annotated[bool, typer.Option("--similarity/--no-similarity",
                                             help="compare every pair of submissions (on by default)")] = True,
    lms: Annotated[LmsFormat | None, typer.Option("--lms", help="also write an LMS grade-import file")] = None,
    roster: Annotated[Path | None, typer.Option("--roster", help="CSV mapping submissions to students")] = None,
    ray: Annotated[str | None, typer.Option(
        "--ray", help="grade on a Ray cluster: auto, HOST:PORT or ray://HOST:PORT (docs/cluster.md); "
                      "--jobs then caps the slots per node")] = None,
) -> None:
    """Grade every submission in a folder; re-runs grade only what is new or changed."""
    from autograder.batch import run_batch
    from autograder.grading import resolve_device
    from autograder.report_cli import BatchProgress, print_batch_summary

    a = resolve_assignment(assignment)
    if not submissions.is_dir():
        raise UsageError(f"{submissions} is not a folder of submissions")
    if jobs is not None and jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if roster is not None:
        existing(roster, "roster")
    if ray is not None:
        from autograder.cluster.connect import import_ray
        from autograder.cluster.progress import NodeProgress

        import_ray()  # a missing extra is a usage error before anything starts
        progress = NodeProgress(ui.out)
        chosen = device.value  # resolved against the cluster's GPUs, not this machine's
    else:
        progress = BatchProgress(ui.out)
        chosen = resolve_device(device.value)
    try:
        summary = run_batch(a, submissions, out_dir, jobs=jobs, device=chosen, progress=progress,
                            similarity=similarity, ray_address=ray)
    finally:
        progress.end()
    print_batch_summary(ui.out, summary, out_dir)
    if lms is not None:
        _export(a, out_dir, lms.value, roster, False)


@app.command()
def gradebook(
    assignment: Annotated[str, typer.Argument(help="slug or assignment folder")],
    out_dir: Annotated[Path, typer.Argument(help="the batch's output folder (holds grades.sqlite)")],
    fmt: Annotated[LmsFormat, typer.Option("--format", help="canvas, moodle or a plain csv")] = LmsFormat.csv,
    roster: Annotated[Path | None, typer.Option("--roster", help="CSV mapping submissions to students")] = None,
    zero_missing: Annotated[bool, typer.Option("--zero-missing",
                                               help="0 instead of an empty cell for students with no submission")]
    = False,
) -> None:
    """Write the LMS's grade-import CSV from a batch; submissions not in the roster are errors."""
    a = resolve_assignment(assignment)
    if not (out_dir / "grades.sqlite").is_file():
        raise UsageError(f"{out_dir} holds no grades.sqlite: run `autograder batch ... --out {out_dir}` first")
    if roster is not None:
        existing(roster, "roster")
    _export(a, out_dir, fmt.value, roster, zero_missing)


def _export(a, out_dir: Path, fmt: str, roster: Path | None, zero_missing: bool) -> None:
    from autograder.batch.lms import RosterError, export_gradebook
    from autograder.batch.store import Store

    store = Store(out_dir / "grades.sqlite")
    try:
        rows = store.rows()
    finally:
        store.close()
    points = a.manifest.total_points
    try:
        export = export_gradebook(a.manifest.title, points, rows, out_dir, fmt, roster, zero_missing)
    except RosterError as exc:
        raise UsageError(str(exc)) from None
    ui.out.print(f"wrote {export.path} ({export.rows} students, {len(export.missing)} without a submission)",
              markup=False, highlight=False, soft_wrap=True)
    if export.errors:
        for line in export.errors:
            ui.err.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
        ui.err.print(f"{len(export.errors)} error(s), also in {export.errors_path}: fix the roster and export again",
                  markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2)


@app.command()
def similarity(
    assignment: Annotated[str, typer.Argument(help="slug or assignment folder")],
    submissions: Annotated[Path, typer.Argument(help="folder with one entry per student")],
    out_dir: Annotated[Path, typer.Option("--out", help="where similarity.html, .csv and pair pages go")],
) -> None:
    """Compare every pair of submissions (winnowing fingerprints; the stub never counts)."""
    from autograder.batch.similarity import compare_class, write_similarity

    a = resolve_assignment(assignment)
    if not submissions.is_dir():
        raise UsageError(f"{submissions} is not a folder of submissions")
    report = compare_class(a, submissions)
    write_similarity(report, out_dir, linked=(out_dir / "report.html").exists())
    ui.out.print(f"{len(report.sources)} submissions compared in {report.seconds:.1f} s; "
              f"{len(report.flagged)} pair(s) flagged (score >= {report.flag_at:.0%})", markup=False, highlight=False, soft_wrap=True)
    for rank, p in enumerate(report.pairs[:10], start=1):
        ui.out.print(f"{rank:3d}. {p.a} / {p.b}: {p.score:.0%}{'  FLAGGED' if p.score >= report.flag_at else ''}",
                  markup=False, highlight=False, soft_wrap=True)
    ui.out.print(f"side by side: {out_dir / 'similarity.html'}", markup=False, highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        ui.out.print(f"autograder {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False) -> None:
    """Grade PyTorch assignments with student code in a sandboxed worker."""


def _bare_ray_is_auto(argv: list[str]) -> list[str]:
    """``--ray`` with no address (last, or before another option) means ``--ray auto``."""
    return [("--ray=auto" if a == "--ray" and (i + 1 == len(argv) or argv[i + 1].startswith("-")) else a)
            for i, a in enumerate(argv)]


@app.command("check-server")
def check_server(
    action: Annotated[str, typer.Argument(help="status or stop")] = "status",
) -> None:
    """The warm process `check` uses from a terminal (docs/check-server.md): is it running, stop it."""
    from autograder.checkserver.client import ask

    if action not in ("status", "stop"):
        raise UsageError(f"unknown action {action!r}: use status or stop")
    reply = ask(action)
    if reply is None:
        ui.out.print("no check server is running for this installation and environment")
        return
    verb = "stopping" if action == "stop" else "running"
    ui.out.print(f"check server {verb}: pid {reply['pid']}, {reply['checks']} checks ({reply['workers_kept']} with "
                 f"their worker ready), idle {reply['idle_s']} s", soft_wrap=True)


def run(argv: list[str]) -> int:
    """``autograder <argv>`` in this process; its exit status: 0 when grading ran (whatever the
    score), 2 for a usage error (one line), 1 when the framework itself failed.

    ``autograder.grading`` (and so torch) is not imported here: `check` starts its worker
    before the grader imports torch (prestart.py), and ``--version`` or a usage error need
    neither.
    """
    argv = _bare_ray_is_auto(argv or ["--help"])
    try:
        rc = app(args=argv, standalone_mode=False)
        return rc if isinstance(rc, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 1
    except (TyperException, UsageError, ManifestError) as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        ui.err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except FrameworkError as exc:
        ui.err.print(f"autograder failed: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 1


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m autograder`` and the tests; the console script is ``entry.main``."""
    sys.exit(run(list(sys.argv[1:] if argv is None else argv)))
