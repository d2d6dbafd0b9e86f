"""Grade only some groups of an assignment, through the unchanged ``grading.grade``.

A notebook's ``check("expand_to")`` and each exported otter or nbgrader test
grade one part, not the whole assignment. ``grade()`` runs every grader it
collects, so this makes a copy of the assignment whose manifest lists only the
wanted groups and whose test folders get a ``conftest.py`` that deselects every
other grader before the grading plugin sees it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Collection
from pathlib import Path

from autograder.course import COPY_IGNORE, Assignment

GROUPS_FILE = ".autograder-groups.json"
FILTER = '''
# Added by autograder.export.subset: only the groups listed in the root folder's
# .autograder-groups.json are graded in this copy. (pytest may reuse this module
# for another copy with the same layout, so the list is read per run, not stored here.)
import json as _autograder_json

import pytest as _autograder_pytest


@_autograder_pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    listing = config.rootpath / ".autograder-groups.json"
    if not listing.is_file():
        return
    wanted = set(_autograder_json.loads(listing.read_text()))
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("group")
        name = marker.args[0] if marker is not None and marker.args else None
        (keep if name in wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
'''


def _add_filter(tests: Path) -> None:
    conftest = tests / "conftest.py"
    existing = conftest.read_text() if conftest.exists() else ""
    if "def pytest_collection_modifyitems" in existing:
        raise ValueError(f"{conftest} already filters items; grading a subset of it is not supported")
    conftest.write_text(existing + FILTER)


def restricted(assignment: Assignment, groups: Collection[str], where: Path) -> Assignment:
    """A copy of ``assignment`` under ``where`` (a new folder the caller removes) grading only ``groups``."""
    manifest = assignment.manifest
    known = {g.name for g in manifest.groups}
    unknown = sorted(set(groups) - known)
    if unknown:
        raise ValueError(f"{assignment.slug} has no group(s) {', '.join(unknown)}")
    public = where / "assignments" / assignment.directory.name
    shutil.copytree(assignment.directory, public, ignore=COPY_IGNORE)
    _add_filter(public / "tests")
    (public.parent / GROUPS_FILE).write_text(json.dumps(sorted(groups)))  # the rootdir of grade()
    wanted = [g for g in manifest.groups if g.name in set(groups)]
    if assignment.solution_dir is not None and any(g.hidden or g.kind == "performance" for g in wanted):
        solutions = where / "solutions" / assignment.directory.name
        solutions.mkdir(parents=True)
        if assignment.reference_file is not None:
            shutil.copyfile(assignment.reference_file, solutions / assignment.reference_file.name)
        if assignment.hidden_tests is not None:
            shutil.copytree(assignment.hidden_tests, solutions / "tests", ignore=COPY_IGNORE)
            _add_filter(solutions / "tests")
    copy = Assignment(public, where)
    copy.__dict__["manifest"] = manifest.model_copy(update={
        "groups": wanted,
        "timed": [t for t in manifest.timed if t.group in set(groups)],
    })
    return copy
