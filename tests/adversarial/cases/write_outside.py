"""Tries to write into the checkout, the framework, the interpreter and system folders."""
import os
import sys

import torch

{HONEST}

TARGETS = ["{ROOT}/solutions/broadcasting/broadcasting.py", "{ROOT}/autograder/grading.py",
           "{ROOT}/PWNED", "/opt/ag/autograder/grading.py", os.path.join(os.path.dirname(torch.__file__), "x.py"),
           os.path.join(sys.prefix, "PWNED"), "/etc/PWNED", "/usr/PWNED", "/root/PWNED",
           os.path.join(os.path.dirname(__file__), "PWNED")]


def expand_to(x, shape):
    wrote = []
    for path in TARGETS:
        try:
            with open(path, "a") as fh:
                fh.write("# pwned\n")
            wrote.append(path)
        except OSError:
            pass
    raise RuntimeError("wrote " + repr(wrote))
