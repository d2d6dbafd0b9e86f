"""Where student code runs: the launcher (grader side) and the worker (sandbox side).

Nothing here may import pydantic, pytest or rich: ``worker.py`` and ``protocol.py``
are imported inside the sandbox, which only has the standard library and torch.
"""
