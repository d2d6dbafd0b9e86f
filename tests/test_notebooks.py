"""Notebooks: .ipynb submissions grade like the .py file; student notebooks are built and check themselves."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest

from autograder.course import list_assignments, resolve_assignment
from autograder.grading import grade
from autograder.notebook_submission import notebook_to_module
from autograder.stubgen import make_stub, template_files

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = Path(__file__).parent / "corpus" / "notebooks"
ASSIGNMENTS = [a.slug for a in list_assignments(ROOT)]
# Grading a student notebook's reference and stub takes about 7 s per assignment: by default for a function
# assignment, a multi-function one and a class assignment; every notebook is still built and checked against
# its .py stub above, and the rest of these run with -m slow.
DEFAULT_NOTEBOOKS = {"broadcasting", "conv_layer", "custom_dataset"}
STUDENT_NOTEBOOKS = [s if s in DEFAULT_NOTEBOOKS else pytest.param(s, marks=pytest.mark.slow) for s in ASSIGNMENTS]


def _cells(*sources: str) -> bytes:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": s}
        for s in sources]}).encode()


def _run_module(source: str, tmp_path: Path) -> dict:
    """Run a generated module the way the worker imports it (as a file, with __file__)."""
    path = tmp_path / "mod.py"
    path.write_text(source)
    namespace = {"__file__": str(path), "__name__": "mod"}
    exec(compile(source, str(path), "exec"), namespace)
    return namespace


def _student_notebook(slug: str) -> dict:
    assignment = resolve_assignment(slug, ROOT)
    files = template_files(assignment)
    return json.loads(files[assignment.template_dir / f"{slug}.ipynb"])


def _filled(slug: str) -> dict:
    """The student notebook with every part cell replaced by the reference's code for it."""
    assignment = resolve_assignment(slug, ROOT)
    ref = assignment.reference_file.read_text()
    defs = {n.name: ast.get_source_segment(ref, n, padded=True) for n in ast.parse(ref).body
            if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    nb = _student_notebook(slug)
    for cell in nb["cells"]:
        if cell["id"].startswith("part-"):
            cell["source"] = defs[cell["id"].removeprefix("part-")]
    return nb


# ------------------------------------------------------------ .ipynb in: the module


def test_magics_are_dropped_with_notes_and_cells_keep_their_own_line_numbers(tmp_path):
    source, notes = notebook_to_module(_cells(
        "!pip install torch\n%matplotlib inline\nX = 1",
        "%%bash\necho hi",
        "%%time\nY = X + 1",
        "def f():\n    return Y\n",
    ))
    ns = _run_module(source, tmp_path)
    assert ns["X"] == 1 and ns["Y"] == 2 and ns["f"]() == 2
    assert ns["__notebook_errors__"] == []
    assert notes[0].startswith("3 shell/magic line(s) were dropped")
    assert any("cell 2" in n and "%%cell magic" in n for n in notes)
    assert ns["f"].__code__.co_filename.endswith("cell 4")  # tracebacks name the cell


def test_a_cell_that_raises_or_does_not_parse_leaves_the_other_cells_working(tmp_path):
    source, notes = notebook_to_module(_cells(
        "A = 1",
        "print(undefined_name)\ndef lost():\n    return 0",
        "def broken(:\n    pass",
        "def kept():\n    return A + 1",
    ))
    assert notes == ["cell 3 (code cell 3) was not run: SyntaxError on line 1: invalid syntax"]
    ns = _run_module(source, tmp_path)
    assert ns["kept"]() == 2
    assert [e.split(":")[0] for e in ns["__notebook_errors__"]] == \
        ["cell 2 raised NameError on line 1", "cell 3 raised SyntaxError on line 1"]
    with pytest.raises(NameError, match="lost is not defined because cell 2 raised NameError on line 1"):
        ns["lost"]()
    with pytest.raises(NameError, match="broken is not defined because cell 3 raised SyntaxError"):
        ns["broken"]()


def test_a_future_import_holds_for_later_cells_as_in_jupyter(tmp_path):
    source, _ = notebook_to_module(_cells("from __future__ import annotations", "def f(x: Undefined) -> None:\n    pass"))
    ns = _run_module(source, tmp_path)
    assert ns["f"].__annotations__["x"] == "Undefined" and ns["__notebook_errors__"] == []


def test_check_calls_do_nothing_while_a_notebook_is_graded(tmp_path):
    source, _ = notebook_to_module(_cells(
        'from autograder.notebook import Checker\ncheck = Checker("broadcasting", "not-a-real-bundle")',
        'RESULT = check("expand_to")',
    ))
    assert _run_module(source, tmp_path)["RESULT"] is None


def test_a_damaged_setup_cell_says_so_and_how_to_repair_it():
    from autograder.notebook import Checker, DamagedSetup, digest

    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.reads(template_files(resolve_assignment("broadcasting", ROOT))[
        ROOT / "student_template/broadcasting/broadcasting.ipynb"], as_version=4)
    setup = next(c.source for c in nb.cells if c.id == "setup")
    ns: dict = {}
    exec(setup, ns)  # intact: builds the checker
    assert ns["check"].slug == "broadcasting"
    packed = re.search(r'Checker\("broadcasting", "([^"]+)"', setup).group(1)
    assert digest(packed) in setup
    stray = packed[:100] + "x" + packed[101:]
    for damaged in (setup.replace(packed, stray), setup.replace(packed, packed[:-7])):
        with pytest.raises(DamagedSetup, match="set-up cell of this notebook was changed"):
            exec(damaged, {})
    with pytest.raises(DamagedSetup, match="fresh copy of broadcasting.ipynb"):  # no digest: found on use
        Checker("broadcasting", stray)("expand_to")


def test_scratch_notebook_grades_exactly_like_the_py_file(tmp_path):
    assignment = resolve_assignment("broadcasting", ROOT)
    (tmp_path / "nb").mkdir()
    notebook = tmp_path / "nb" / "broadcasting.ipynb"
    shutil.copyfile(NOTEBOOKS / "broadcasting_scratch.ipynb", notebook)
    from_notebook = grade(assignment, notebook, performance=False)
    from_py = grade(assignment, assignment.reference_file, performance=False)
    assert from_notebook.status == "graded"
    assert [(t.name, t.score) for t in from_notebook.results.tests] == \
        [(t.name, t.score) for t in from_py.results.tests]
    assert from_notebook.score == from_notebook.max_score == 20
    header = from_notebook.results.output
    assert "3 shell/magic line(s) were dropped" in header
    assert "cell 10 (code cell 9) was not run: SyntaxError" in header
    assert "cell 12 (code cell 11) is a %%cell magic" in header


def test_a_cell_that_raises_before_its_def_costs_that_part_only_and_says_why(tmp_path):
    assignment = resolve_assignment("broadcasting", ROOT)
    notebook = tmp_path / "broadcasting.ipynb"
    shutil.copyfile(NOTEBOOKS / "broadcasting_broken_cell.ipynb", notebook)
    report = grade(assignment, notebook, performance=False)
    scores = {t.tags[1]: 0.0 for t in report.results.tests}
    for t in report.results.tests:
        scores[t.tags[1]] += t.score
    assert scores == {"broadcast_shape": 6, "expand_to": 0, "pairwise_sq_dists": 5, "standardize": 3}
    expand = next(t for t in report.results.tests if t.name.startswith("expand_to: values"))
    assert "expand_to is not defined because cell 3 raised NameError on line 2: name 'np' is not defined" \
        in expand.output


# ------------------------------------------------------------ .ipynb out: the student notebook


@pytest.mark.parametrize("slug", ASSIGNMENTS)
def test_student_notebook_is_valid_deterministic_and_holds_the_stub(slug):
    nbformat = pytest.importorskip("nbformat")
    assignment = resolve_assignment(slug, ROOT)
    first = template_files(assignment)[assignment.template_dir / f"{slug}.ipynb"]
    assert first == template_files(assignment)[assignment.template_dir / f"{slug}.ipynb"]
    nb = nbformat.reads(first, as_version=4)
    nbformat.validate(nb)
    ids = [c.id for c in nb.cells]
    parts = [p.name for p in assignment.manifest.parts]
    assert [i.removeprefix("part-") for i in ids if i.startswith("part-")] == \
        [i.removeprefix("check-") for i in ids if i.startswith("check-") and i != "check-all"]
    assert sorted(i.removeprefix("part-") for i in ids if i.startswith("part-")) == sorted(parts)
    install = next(c.source for c in nb.cells if c.id == "install")
    setup = next(c for c in nb.cells if c.id == "setup")
    assert "# !pip install" in install and f'Checker("{slug}", ' in setup.source
    # the packed tests are out of the way: folded in Jupyter, a titled form on Colab
    assert setup.metadata["jupyter"]["source_hidden"] is True and setup.metadata["cellView"] == "form"
    assert setup.source.startswith("#@title Set-up")
    stub_ns: dict = {}
    exec(make_stub(assignment.reference_file.read_text()), stub_ns)
    nb_ns: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.id not in ("setup",) and not cell.id.startswith("check"):
            exec(cell.source, nb_ns)
    for part in parts:  # one source: the notebook defines what the .py stub defines, the same way
        assert nb_ns[part].__doc__ == stub_ns[part].__doc__


@pytest.mark.parametrize("slug", STUDENT_NOTEBOOKS)
def test_student_notebook_reference_earns_everything_and_stub_nothing(slug, tmp_path):
    """The notebook as students get it grades 0; filled with the reference it earns full marks."""
    assignment = resolve_assignment(slug, ROOT)
    stub, filled = tmp_path / "stub" / f"{slug}.ipynb", tmp_path / "ref" / f"{slug}.ipynb"
    for path, nb in ((stub, _student_notebook(slug)), (filled, _filled(slug))):
        path.parent.mkdir()
        path.write_text(json.dumps(nb))
    ref = grade(assignment, filled, performance=False)
    assert ref.status == "graded" and ref.score == ref.max_score > 0, ref.results.output
    assert grade(assignment, stub, performance=False).score == 0


# ------------------------------------------------------------ check() inside IPython and Jupyter


def _shell_run(shell, source: str) -> None:
    result = shell.run_cell(source, store_history=True)
    assert result.error_in_exec is None and result.error_before_exec is None, source


def test_check_grades_what_the_kernel_has_run(tmp_path):
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    from autograder import prestart

    nb = _filled("broadcasting")
    shell = InteractiveShell.instance()
    kept_before = prestart.kept_workers_used
    try:
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and not cell["id"].startswith("check"):
                _shell_run(shell, "".join(cell["source"]))
        _shell_run(shell, 'check("expand_to")')
        checker = shell.user_ns["check"]
        assert (checker.last.part, checker.last.score, checker.last.max_score) == ("expand_to", 2, 2)
        _shell_run(shell, "def standardize(x, eps=1e-8):\n    return (x - x.mean(0)) / (x.std(0) + eps)")
        _shell_run(shell, 'check("standardize")')  # the redefinition (unbiased std) is what counts now
        assert checker.last.score == 0 and "standardize" in str(checker.last)
        assert "[FAIL] standardize: values: 0/1" in str(checker.last)
        with pytest.raises(ValueError, match="no part 'nope'"):
            checker("nope")
        # each check() found its worker already started: by the set-up cell, then by the check before
        assert prestart.kept_workers_used == kept_before + 2
    finally:
        InteractiveShell.clear_instance()


def test_student_notebook_runs_in_a_real_kernel_and_its_output_grades(tmp_path):
    """Jupyter end to end: execute the filled notebook, read the check cells, hand in the result."""
    nbformat = pytest.importorskip("nbformat")
    from nbconvert.preprocessors import ExecutePreprocessor

    nb = nbformat.reads(json.dumps(_filled("broadcasting")), as_version=4)
    ExecutePreprocessor(timeout=300, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    outputs = {c.id: "".join(o.get("text", "") for o in c.outputs) for c in nb.cells if c.cell_type == "code"}
    assert outputs["check-expand_to"].startswith("expand_to: 2 / 2 public points")
    assert outputs["check-all"].startswith("all parts: 7 / 7 public points")
    submission = tmp_path / "broadcasting.ipynb"
    nbformat.write(nb, submission)
    report = grade(resolve_assignment("broadcasting", ROOT), submission, performance=False)
    assert report.score == report.max_score == 20
