"""The worker's resource limits: one table, applied in the child, and every shortfall reported.

Each case runs ``limits.apply`` in a fresh interpreter (limits cannot be undone in this one).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

from autograder.manifest import Limits
from autograder.sandbox import limits
from autograder.sandbox.launcher import Policy
from autograder.sandbox.uids import installation

POLICY = Policy(Limits(cpu_seconds=60, file_size_mb=8, max_open_files=100, max_processes=32, memory_mb=2048))


def apply_in_child(table: list, before: str = "") -> dict:
    """Run ``before`` then ``limits.apply(table)`` in a new interpreter; the report and the limits in force."""
    code = f"""
import json, os, resource, sys
from autograder.sandbox import limits
{before}
weaker = limits.apply(json.loads(sys.argv[1]))
print(json.dumps({{"weaker": weaker, "in_force": {{name: resource.getrlimit(getattr(resource, name))[0]
                  for name, _, _ in json.loads(sys.argv[1]) if hasattr(resource, name)}}}}))
"""
    out = subprocess.run([sys.executable, "-c", code, json.dumps(table)], capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(out.stdout)


def test_the_table_follows_the_policy():
    table = {name: (soft, hard) for name, soft, hard in limits.table(POLICY, per_uid=True)}
    assert table["RLIMIT_AS"] == (2048 << 20, 2048 << 20) and table["RLIMIT_NPROC"] == (32, 32)
    assert table["RLIMIT_CORE"] == (0, 0) and table["RLIMIT_CPU"] == (60, 65)
    cuda_shared_uid = {name for name, _, _ in limits.table(replace(POLICY, device="cuda"), per_uid=False)}
    assert "RLIMIT_AS" not in cuda_shared_uid and "RLIMIT_NPROC" not in cuda_shared_uid


def test_every_limit_is_applied():
    result = apply_in_child(limits.table(POLICY, per_uid=True))
    assert result["weaker"] == []
    assert result["in_force"]["RLIMIT_NOFILE"] == 100 and result["in_force"]["RLIMIT_FSIZE"] == 8 << 20


def test_a_refused_limit_that_stays_stricter_is_not_a_missing_protection():
    # The hard limit is already below what the table asks, and an unprivileged process may not raise it.
    before = (f"resource.setrlimit(resource.RLIMIT_NOFILE, (50, 50))\n"
              f"if os.getuid() == 0: os.setgid({installation().spare_uid}); os.setuid({installation().spare_uid})")
    result = apply_in_child([["RLIMIT_NOFILE", 100, 100]], before)
    assert result["weaker"] == [] and result["in_force"]["RLIMIT_NOFILE"] == 50


def test_a_limit_that_cannot_be_set_is_reported():
    result = apply_in_child([["RLIMIT_NO_SUCH_LIMIT", 1, 1], ["RLIMIT_CORE", 0, 0]])
    assert result["weaker"] == ["RLIMIT_NO_SUCH_LIMIT is not supported here"]
    assert result["in_force"]["RLIMIT_CORE"] == 0
