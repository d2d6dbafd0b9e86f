"""The ``autograder`` command. Thin: parse, call the API function, print.

Exit status: 0 when grading ran (whatever the score), 2 for a usage error with
a one-line message, 1 only when the framework itself failed.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.exceptions import TyperException

from autograder import __version__
from autograder.course import FrameworkError, UsageError, list_assignments, resolve_assignment
from autograder.manifest import ManifestError

app = typer.Typer(
    name="autograder", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    help="Grade PyTorch assignments with student code in a sandboxed worker.",
)
out = Console()
err = Console(stderr=True)

class Device(StrEnum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class LmsFormat(StrEnum):
    canvas = "canvas"
    moodle = "moodle"
    csv = "csv"


DeviceOpt = Annotated[Device, typer.Option("--device", help="where graded tensors live")]


def _existing(path: Path, what: str) -> Path:
    if not path.exists():
        raise UsageError(f"{what} {path} does not exist")
    return path


@app.command("list")
def list_cmd() -> None:
    """The assignments, their points and parts."""
    from autograder.report_cli import print_assignments

    print_assignments(out, list_assignments())


@app.command()
def check(
    assignment: Annotated[str, typer.Argument(help="slug or assignment folder")],
    submission: Annotated[Path | None, typer.Argument(help="defaults to ./<slug>.py")] = None,
    device: DeviceOpt = Device.auto,
) -> None:
    """Run the public tests on your work and explain what to fix."""
    from autograder.prestart import prestart

    a = resolve_assignment(assignment)
    path = _existing(submission or Path.cwd() / a.manifest.submission_file, "submission")
    spawner = prestart(a, device.value)  # the worker imports torch while we import torch and pytest
    try:
        from autograder.grading import grade as grade_api
        from autograder.report_cli import print_report

        report = grade_api(a, path, mode="check", device=device.value, spawner=spawner)
    finally:
        if spawner is not None:
            spawner.close()
    print_report(out, a, report, audience="student")


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
    path = _existing(submission, "submission")
    report = grade_api(a, path, mode="grade", device=device.value, seed=seed, results_path=results)
    print_report(out, a, report, audience="staff")
    if results is not None:
        out.print(f"results written to {results}")


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
        _existing(roster, "roster")
    if ray is not None:
        from autograder.cluster.connect import import_ray
        from autograder.cluster.progress import NodeProgress

        import_ray()  # a missing extra is a usage error before anything starts
        progress = NodeProgress(out)
        chosen = device.value  # resolved against the cluster's GPUs, not this machine's
    else:
        progress = BatchProgress(out)
        chosen = resolve_device(device.value)
    try:
        summary = run_batch(a, submissions, out_dir, jobs=jobs, device=chosen, progress=progress,
                            similarity=similarity, ray_address=ray)
    finally:
        progress.end()
    print_batch_summary(out, summary, out_dir)
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
        _existing(roster, "roster")
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
    out.print(f"wrote {export.path} ({export.rows} students, {len(export.missing)} without a submission)",
              markup=False, highlight=False, soft_wrap=True)
    if export.errors:
        for line in export.errors:
            err.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
        err.print(f"{len(export.errors)} error(s), also in {export.errors_path}: fix the roster and export again",
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
    out.print(f"{len(report.sources)} submissions compared in {report.seconds:.1f} s; "
              f"{len(report.flagged)} pair(s) flagged (score >= {report.flag_at:.0%})", markup=False, highlight=False, soft_wrap=True)
    for rank, p in enumerate(report.pairs[:10], start=1):
        out.print(f"{rank:3d}. {p.a} / {p.b}: {p.score:.0%}{'  FLAGGED' if p.score >= report.flag_at else ''}",
                  markup=False, highlight=False, soft_wrap=True)
    out.print(f"side by side: {out_dir / 'similarity.html'}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def validate(
    assignments: Annotated[list[str] | None, typer.Argument(help="default: all")] = None,
) -> None:
    """Check manifests, that the reference earns full marks and that the stub earns none."""
    from autograder.validate import validate_all

    ok = validate_all(out, [resolve_assignment(a) for a in assignments] if assignments else list_assignments())
    if not ok:
        raise typer.Exit(1)


@app.command()
def new(
    slug: Annotated[str, typer.Argument(help="the new assignment's slug (lower case, digits, _)")],
    title: Annotated[str | None, typer.Option(help="its title (default: from the slug)")] = None,
    part: Annotated[list[str] | None, typer.Option("--part", help="a function students write (repeat; the "
                                                                   "first is timed)")] = None,
) -> None:
    """Scaffold a complete, working toy assignment to edit (docs/authoring.md)."""
    from autograder.course import find_course_root
    from autograder.scaffold import TODO, scaffold

    root = find_course_root() or Path.cwd()
    written = scaffold(root, slug, title, part)
    for path in written:
        out.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"next: edit every '{TODO}' (docs/authoring.md), then `autograder build-student {slug}` and "
              f"`autograder validate {slug}`", markup=False, highlight=False, soft_wrap=True)


@app.command("build-student")
def build_student(
    assignments: Annotated[list[str] | None, typer.Argument(help="default: all")] = None,
    check_only: Annotated[bool, typer.Option("--check", help="fail if the templates are out of date")] = False,
) -> None:
    """Regenerate student_template/ from solutions/ and the handouts' speed sections from the manifests."""
    from autograder.stubgen import StubError, build_templates

    chosen = [resolve_assignment(a) for a in assignments] if assignments else list_assignments()
    try:
        stale = build_templates(chosen, check=check_only)
    except StubError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    for path in stale:
        out.print(f"{'out of date' if check_only else 'wrote'}: {path}")
    if check_only and stale:
        raise typer.Exit(1)
    if not stale:
        out.print("student templates are up to date")


@app.command()
def gradescope(
    assignment: Annotated[str, typer.Argument(help="slug or assignment folder")],
    out_zip: Annotated[Path, typer.Option("--out", help="the autograder zip to write (FILE.zip)")],
) -> None:
    """Build the Gradescope autograder zip (setup.sh, run_autograder, wheel, graders, pins)."""
    from autograder.gradescope.bundle import BundleError, build_bundle
    from autograder.gradescope.pins import PinError

    a = resolve_assignment(assignment)
    if a.reference_file is None:
        raise UsageError(f"the solutions of {a.slug} are not here (the bundle needs the reference and hidden graders)")
    try:
        info = build_bundle(a, out_zip)
    except (BundleError, PinError) as exc:
        err.print(f"could not build the bundle: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    out.print(f"wrote {info.path} ({info.size_bytes / 1024:.0f} KiB, {len(info.members)} files, torch=="
              f"{info.pins.torch_version} CPU build, {len(info.pins.others)} pinned packages)")
    out.print("upload it under Configure Autograder -> Zip file upload; see docs/gradescope.md")


@app.command()
def calibrate(
    assignment: Annotated[str, typer.Argument(help="slug or assignment folder")],
    device: DeviceOpt = Device.cpu,
    repeats: Annotated[int, typer.Option(help="timings of each variant, interleaved")] = 3,
) -> None:
    """Time every staff variant (solutions/<slug>/speed_variants/) against the reference; propose thresholds."""
    from autograder.calibrate import calibrate as calibrate_api
    from autograder.calibrate_report import print_spectra
    from autograder.grading import resolve_device

    if repeats < 1:
        raise UsageError("--repeats must be at least 1")
    rows = calibrate_api(resolve_assignment(assignment), device=resolve_device(device.value), repeats=repeats,
                         progress=lambda line: err.print(line, markup=False, highlight=False))
    print_spectra(out, rows)


@app.command("feedback-gallery")
def feedback_gallery(
    out_file: Annotated[Path, typer.Option("--out", help="the gallery to write")] = Path("docs/feedback-gallery.md"),
    corpus: Annotated[Path, typer.Option("--corpus", help="folder of <slug>/bug_*.py")] = Path("tests/corpus"),
) -> None:
    """Regenerate docs/feedback-gallery.md: for each bug of the corpus, the feedback students read."""
    from autograder.gallery import build

    if not corpus.is_dir():
        raise UsageError(f"{corpus} is not a folder of buggy submissions (<slug>/bug_*.py)")
    text = build(out_file, corpus)
    out.print(f"wrote {out_file} ({text.count(chr(10) + '### ')} bugs)")


@app.command()
def schema() -> None:
    """Print the JSON Schema of assignment.toml (generated from the pydantic models)."""
    from autograder.manifest import json_schema

    sys.stdout.write(json_schema())


export_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                         help="Export an assignment's tests for courses on otter-grader or nbgrader.")
app.add_typer(export_app, name="export")


def _export_ready(assignment: str):  # -> Assignment
    a = resolve_assignment(assignment)
    if a.reference_file is None:
        raise UsageError(f"the solutions of {a.slug} are not here (exports check the reference against the graders)")
    return a


@export_app.command("otter")
def export_otter_cmd(
    assignment: Annotated[str, typer.Argument(help="slug or assignment folder")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for README.md and tests/<part>.py")],
) -> None:
    """otter-grader test files (exception-based) for the public tests, one per part."""
    from autograder.export import ExportError
    from autograder.export.otter import export_otter

    try:
        info = export_otter(_export_ready(assignment), out_dir)
    except ExportError as exc:
        err.print(f"could not export: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    out.print(f"wrote {len(info.files)} otter test files ({info.cases} cases, {info.points:g} points) "
              f"to {info.directory / 'tests'}; see {info.directory / 'README.md'}")


@export_app.command("nbgrader")
def export_nbgrader_cmd(
    assignment: Annotated[str, typer.Argument(help="slug or assignment folder")],
    out_dir: Annotated[Path, typer.Option("--out", help="nbgrader course folder (writes source/<slug>/<slug>.ipynb)")],
) -> None:
    """An nbgrader source notebook: solution regions, public and hidden autograded test cells."""
    from autograder.export import ExportError
    from autograder.export.nbgrader import export_nbgrader

    a = _export_ready(assignment)
    try:
        info = export_nbgrader(a, out_dir)
    except ExportError as exc:
        err.print(f"could not export: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    out.print(f"wrote {info.notebook} ({info.test_cells} autograded test cells, {info.points:g} points); "
              f"next: `nbgrader generate_assignment {a.slug}` in {out_dir}")


def _version(value: bool) -> None:
    if value:
        out.print(f"autograder {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False) -> None:
    """Grade PyTorch assignments with student code in a sandboxed worker."""


def _bare_ray_is_auto(argv: list[str]) -> list[str]:
    """``--ray`` with no address (last, or before another option) means ``--ray auto``."""
    return [("--ray=auto" if a == "--ray" and (i + 1 == len(argv) or argv[i + 1].startswith("-")) else a)
            for i, a in enumerate(argv)]


def main(argv: list[str] | None = None) -> None:
    """Entry point: maps errors to the documented exit statuses.

    ``autograder.grading`` (and so torch) is not imported here: `check` starts its worker
    before the grader imports torch (prestart.py), and ``--version`` or a usage error need
    neither.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["--help"]
    argv = _bare_ray_is_auto(argv)
    try:
        rc = app(args=argv, standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except (TyperException, UsageError, ManifestError) as exc:
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except FrameworkError as exc:
        err.print(f"autograder failed: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    sys.exit(0)
