"""Stubs come from the reference's solution markers; committed templates must be up to date."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.course import list_assignments
from autograder.stubgen import StubError, build_templates, make_stub

ROOT = Path(__file__).resolve().parents[1]
REF = '''import math


def f(x):
    """Doc kept."""
    # BEGIN SOLUTION
    return math.sqrt(x)
    # END SOLUTION


# BEGIN SOLUTION
def _helper():
    return 1
# END SOLUTION
'''


def test_function_bodies_become_not_implemented_and_module_level_blocks_vanish():
    stub = make_stub(REF)
    assert '"""Doc kept."""' in stub and "raise NotImplementedError" in stub
    assert "sqrt" not in stub and "_helper" not in stub
    namespace: dict = {}
    exec(compile(stub, "stub.py", "exec"), namespace)
    with pytest.raises(NotImplementedError):
        namespace["f"](4)


@pytest.mark.parametrize("bad,problem", [
    ("# BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("# END SOLUTION\n", "without BEGIN"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n# END SOLUTION\n", "inside another"),
    ("def f():\n    # BEGIN SOLUTION\n    pass\n# END SOLUTION\n", "indented differently"),
])
def test_malformed_markers_name_the_line(bad, problem):
    with pytest.raises(StubError, match=problem):
        make_stub(bad, "ref.py")


def test_committed_templates_are_up_to_date():
    stale = build_templates(list_assignments(ROOT), check=True)
    assert stale == [], "run: autograder build-student"
