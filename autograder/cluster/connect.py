"""Joining a Ray cluster from the head, with every socket on loopback when the cluster is local.

Ray picks the machine's network address for the driver unless told otherwise,
even when the cluster listens on 127.0.0.1; a loopback cluster address
therefore pins the driver to 127.0.0.1 as well.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from autograder.course import UsageError

RAY_MISSING = ("--ray needs Ray, an optional extra: pip install 'torch-autograder[cluster]' "
               "(the same version on every node)")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(RAY_MISSING) from None
    return ray


def _is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0] if ":" in address else address
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect(address: str) -> Any:
    """``ray.init`` for ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``; returns the ``ray`` module."""
    ray = import_ray()
    kwargs: dict[str, Any] = {"address": address, "logging_level": logging.WARNING, "log_to_driver": False,
                              "configure_logging": True}
    if not address.startswith("ray://") and _is_loopback(address):
        kwargs["_node_ip_address"] = "127.0.0.1"
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UsageError(f"could not join the Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
    return ray
