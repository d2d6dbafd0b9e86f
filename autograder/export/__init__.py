"""Exports for other tools built from one source: otter-grader and nbgrader.

``autograder.notebook_cells`` lays an assignment out as notebook cells (shared with
the student notebook, ``autograder.student_notebook``); ``bundle`` packs the graders into
the generated files; ``inprocess`` and ``runtime`` run the same pytest graders
inside a student's own interpreter, which is what otter and nbgrader expect.
"""

from __future__ import annotations


class ExportError(Exception):
    """An export cannot be made (no solutions here, or the reference fails the graders in-process)."""
