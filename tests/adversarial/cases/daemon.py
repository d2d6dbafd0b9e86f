"""Leaves a double-forked daemon behind that keeps writing files long after its call."""
import os
import time

{HONEST}


def expand_to(x, shape):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            for i in range(600):
                try:
                    with open("{MARKER}", "a") as fh:
                        fh.write("still alive\n")
                except OSError:
                    pass
                time.sleep(0.1)
        os._exit(0)
    raise RuntimeError("daemon started")
