"""Ignores every signal it can, then never returns: only SIGKILL of the whole sandbox works."""
import signal

{HONEST}

for sig in signal.Signals:
    try:
        signal.signal(sig, signal.SIG_IGN)
    except (OSError, RuntimeError, ValueError):
        pass


def expand_to(x, shape):
    while True:
        pass
