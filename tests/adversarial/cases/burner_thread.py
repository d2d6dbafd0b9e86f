"""Slow, and starts CPU-burning processes and threads at import to slow down whatever runs beside it."""
import os
import threading

import torch

{SLOW}


def _spin():
    x = 0
    while True:
        x += 1


def _native_burn():
    a = torch.randn(256, 256)
    while True:
        a @ a  # releases the GIL: a real second core's worth of work


for _ in range(2):
    if os.fork() == 0:
        _spin()
threading.Thread(target=_native_burn, daemon=True).start()
