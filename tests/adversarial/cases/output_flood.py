"""Prints hundreds of megabytes to stdout and stderr."""
import sys

{HONEST}

LINE = "FLOOD " * 2000 + "\n"


def expand_to(x, shape):
    for _ in range(20000):
        sys.stdout.write(LINE)
        sys.stderr.write(LINE)
    raise RuntimeError("done flooding")
