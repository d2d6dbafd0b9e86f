"""Slow, and patches every clock it can find so that its calls look instantaneous."""
import time

import torch

{SLOW}

time.perf_counter = lambda: 0.0
time.perf_counter_ns = lambda: 0
time.monotonic = lambda: 0.0
time.monotonic_ns = lambda: 0
time.time = lambda: 0.0
time.process_time = lambda: 0.0
torch.cuda.Event.elapsed_time = lambda self, other: 0.0
torch.cuda.synchronize = lambda *a, **k: None
