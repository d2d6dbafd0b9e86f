"""Commands for the people who write assignments: validate, scaffold, build, export, calibrate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from autograder import cli_app as ui
from autograder.cli_app import Device, DeviceOpt, app
from autograder.course import UsageError, list_assignments, resolve_assignment


@app.command()
def validate(
    assignments: Annotated[list[str] | None, typer.Argument(help="default: all")] = None,
) -> None:
    """Check manifests, that the reference earns full marks and that the stub earns none."""
    from autograder.validate import validate_all

    ok = validate_all(ui.out, [resolve_assignment(a) for a in assignments] if assignments else list_assignments())
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
        ui.out.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)
    ui.out.print(f"next: edit every '{TODO}' (docs/authoring.md), then `autograder build-student {slug}` and "
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
        ui.err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    for path in stale:
        ui.out.print(f"{'out of date' if check_only else 'wrote'}: {path}")
    if check_only and stale:
        raise typer.Exit(1)
    if not stale:
        ui.out.print("student templates are up to date")


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
        ui.err.print(f"could not build the bundle: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    ui.out.print(f"wrote {info.path} ({info.size_bytes / 1024:.0f} KiB, {len(info.members)} files, torch=="
              f"{info.pins.torch_version} CPU build, {len(info.pins.others)} pinned packages)")
    ui.out.print("upload it under Configure Autograder -> Zip file upload; see docs/gradescope.md")


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
                         progress=lambda line: ui.err.print(line, markup=False, highlight=False))
    print_spectra(ui.out, rows)


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
    ui.out.print(f"wrote {out_file} ({text.count(chr(10) + '### ')} bugs)")


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
        ui.err.print(f"could not export: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    ui.out.print(f"wrote {len(info.files)} otter test files ({info.cases} cases, {info.points:g} points) "
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
        ui.err.print(f"could not export: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    ui.out.print(f"wrote {info.notebook} ({info.test_cells} autograded test cells, {info.points:g} points); "
              f"next: `nbgrader generate_assignment {a.slug}` in {out_dir}")
