"""A warm process for `autograder check`: torch and the graders imported once, a worker kept ready.

A cold `check` spends most of its time importing torch twice (the grader's and the worker's);
on a 2-core machine that alone is about 4 s. Students run `check` over and over, so from a
terminal the command hands the run to a per-user server that already did that work, and
prints what it sends back. See docs/check-server.md.
"""
