"""Notebook outputs built from one source: the student notebook, otter-grader and nbgrader exports.

``cells`` lays an assignment out as notebook cells (handout sections, one cell per
function or class, a check after each part); ``bundle`` packs the graders into
the generated files; ``inprocess`` and ``runtime`` run the same pytest graders
inside a student's own interpreter, which is what otter and nbgrader expect.
"""

from __future__ import annotations


class ExportError(Exception):
    """An export cannot be made (no solutions here, or the reference fails the graders in-process)."""
