"""Replaces builtins and standard modules the worker itself relies on."""
import builtins
import json
import os

{HONEST}

builtins.len = lambda x: 0
builtins.print = lambda *a, **k: None
json.dumps = lambda *a, **k: '{"kind": "reply", "ok": true, "value": 1}'
os.write = lambda fd, data: len(data)


def expand_to(x, shape):
    return x
