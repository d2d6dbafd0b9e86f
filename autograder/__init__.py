"""torch-autograder: grade PyTorch assignments with student code kept in a sandboxed worker.

Keep this module import-light: the sandboxed worker imports ``autograder.sandbox``
and must not pull in pydantic, pytest or rich.
"""

__version__ = "0.1.0"
