"""The ``autograder`` console script: `check` from a terminal goes to the warm check server.

Kept apart from ``cli`` so that path imports neither typer nor rich nor pydantic; every other
command (and `check` from scripts, CI, or with ``AUTOGRADER_CHECK_SERVER=off``) runs in this
process as before.
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["check"] and not {"--help", "-h"} & set(argv):
        from autograder.checkserver import address

        if address.wanted(sys.stdout.isatty()):
            from autograder.checkserver.client import run_via_server

            try:
                code = run_via_server(argv)
            except KeyboardInterrupt:
                sys.exit(130)
            if code is not None:
                sys.exit(code)
    from autograder.cli import main as run_here

    run_here(argv)
