"""The student notebook ``student_template/<slug>/<slug>.ipynb``, from the same stub as ``<slug>.py``.

Cells: the handout's introduction, an install cell (the Colab install line), a
folded set-up cell (the ``check`` object, which carries the public graders), the imports, then
the handout's sections with each part's code cell and a ``check("part")`` cell
after the section that explains it, and a last cell that checks everything.
Cell ids are fixed names, so the file is the same on every build.
"""

from __future__ import annotations

from autograder.course import Assignment
from autograder.export.bundle import pack, public_files
from autograder.notebook import digest
from autograder.notebook_cells import code_cell, layout, markdown_cell, notebook_json

INSTALL_LINE = "# !pip install -q torch-autograder   # or the install line your course gives you"
INSTALL = f"""\
# On Colab, or wherever the autograder is not installed yet, uncomment this line and run the cell:
{INSTALL_LINE}"""
# The set-up cell carries the packed public tests: collapsed in Jupyter (source_hidden) and shown as
# a titled form on Colab (cellView), so a student sees its title, not ~5 KB of base64.
SETUP_METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}}
HOW_TO = """\
### Working in this notebook

1. Run the two **set-up** cells below once (on Colab, uncomment the `pip install` line first). The
   second one is folded: it holds the public tests, packed; leave it as it is.
2. Fill in each function or class where it says `raise NotImplementedError`, and run its cell.
3. Run the `check("...")` cell under it: the public tests of that part run on the code you have
   run in this session, in a sandboxed process, and say what passed and what to fix.
   `check()` with no name checks everything.

Hand in this notebook (`{slug}.ipynb`) or the same code as `{slug}.py`. Hidden tests also grade your
work, so passing the public checks is necessary, not sufficient. Scratch cells (prints, plots) are
fine: when grading, shell and magic lines (`!pip`, `%time`) are skipped and a cell that raises is
reported while the other cells still count."""


def build_student_notebook(assignment: Assignment, stub_source: str) -> str:
    manifest = assignment.manifest
    slug = manifest.slug
    public = {g.part for g in manifest.groups if not g.hidden and g.kind == "correctness"}
    plan = layout(manifest, stub_source, assignment.handout.read_text())
    packed = pack(public_files(assignment))
    setup = "\n".join([
        "#@title Set-up: run this cell before any check (it holds the public tests; do not edit it)",
        "from autograder.notebook import Checker",
        "",
        '# check("name") runs the public tests of one part on the code you have run so far; check() runs all.',
        f"# The long string holds those tests (assignments/{slug}/tests), so this notebook checks itself;",
        "# sha256 lets it say so if the string was damaged.",
        f'check = Checker("{slug}", "{packed}", sha256="{digest(packed)}")',
    ])
    cells = [
        markdown_cell("intro", plan.intro),
        markdown_cell("how-to", HOW_TO.format(slug=slug)),
        code_cell("install", INSTALL),
        code_cell("setup", setup, SETUP_METADATA),
    ]
    if plan.preamble:
        cells.append(code_cell("imports", plan.preamble))
    section = 0
    for kind, item in plan.items:
        if kind == "section":
            section += 1
            cells.append(markdown_cell(f"handout-{section}", item))
            continue
        for n, chunk in enumerate(item.chunks):
            name = chunk.name or f"{item.part or 'extra'}-{n}"
            cells.append(code_cell(f"code-{name}" if chunk.name != item.part else f"part-{name}", chunk.text))
        if item.part in public:
            cells.append(code_cell(f"check-{item.part}", f'check("{item.part}")'))
    cells.append(markdown_cell("all-title", "## Check everything\n\nThe public tests of every part, "
                                                  "on everything you have run in this session."))
    cells.append(code_cell("check-all", "check()"))
    return notebook_json(cells, {"autograder": {"assignment": slug}})


def student_notebook(assignment: Assignment, stub_source: str) -> str | None:
    """The Colab-ready student notebook, or None when the assignment has no handout to lay out."""
    if not assignment.handout.is_file():
        return None
    return build_student_notebook(assignment, stub_source)
