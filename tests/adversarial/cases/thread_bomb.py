"""Starts threads until the process-count limit stops it."""
import threading
import time

{HONEST}


def expand_to(x, shape):
    started = 0
    try:
        for _ in range(100000):
            threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
            started += 1
    except RuntimeError:
        pass
    raise RuntimeError(f"started {started} threads")
