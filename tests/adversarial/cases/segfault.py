"""Crashes the worker with a segmentation fault through ctypes."""
import ctypes

{HONEST}


def expand_to(x, shape):
    ctypes.string_at(0)
