"""Forbidden calls trip however they are reached; the same call is fine where the spec allows it."""

from __future__ import annotations

import pytest
from conftest import ROOT, grade_source, group_scores, output_of, replace_solution

REFERENCE = (ROOT / "solutions/broadcasting/broadcasting.py").read_text()
EXPAND_GROUP = "expand_to: values, stride-0 view, errors"
SHAPE_GROUP = "broadcast_shape: worked examples and errors"

EXPAND_ROUTES = {
    "method": "return x.expand(*shape)",
    "getattr": "return getattr(x, 'exp' + 'and')(*shape)",
    "expand_as": "return x.expand_as(torch.empty(shape))",
    "broadcast_to": "return torch.broadcast_to(x, shape)",
    "alias": "from torch import broadcast_to as bt\n    return bt(x, shape)",
    "importlib": "import importlib\n    return importlib.import_module('torch').broadcast_to(x, shape)",
    "functional": "return torch.functional.broadcast_tensors(x, torch.empty(shape))[0]",
    "ops_packet": "return torch.ops.aten.expand(x, list(shape))",
    "ops_overload": "return torch.ops.aten.expand.default(x, list(shape))",
    "tensorbase": "return torch._C.TensorBase.expand(x, shape)",
    "variable_functions": "return torch._C._VariableFunctions.broadcast_to(x, shape)",
}
SHAPE_ROUTES = {
    "torch": "return tuple(torch.broadcast_shapes(*shapes))",
    "numpy": "import numpy\n    return tuple(numpy.broadcast_shapes(*shapes))",
    "np_broadcast": "import numpy as np\n    return np.broadcast(*[np.empty(s) for s in shapes]).shape",
    "getattr_numpy": "import numpy\n    return tuple(getattr(numpy, 'broadcast_' + 'shapes')(*shapes))",
}


@pytest.mark.parametrize("route", sorted(EXPAND_ROUTES))
def test_expand_to_bans_hold_on_every_route(tmp_path, route):
    source = replace_solution(REFERENCE, "expand_to", EXPAND_ROUTES[route])
    report = grade_source("broadcasting", source, tmp_path, limits={"call_timeout_s": 5})
    assert group_scores(report)[EXPAND_GROUP] < 1.0
    assert "forbidden call" in output_of(report, EXPAND_GROUP)
    assert group_scores(report)[SHAPE_GROUP] == 2  # other parts are unaffected


@pytest.mark.parametrize("route", sorted(SHAPE_ROUTES))
def test_broadcast_shape_bans_hold_on_every_route(tmp_path, route):
    source = replace_solution(REFERENCE, "broadcast_shape", SHAPE_ROUTES[route])
    report = grade_source("broadcasting", source, tmp_path, limits={"call_timeout_s": 5})
    assert group_scores(report)[SHAPE_GROUP] < 1.0
    assert "forbidden call" in output_of(report, SHAPE_GROUP)


def test_a_ban_applies_only_to_its_part(tmp_path):
    """Tensor.expand is banned in expand_to only: standardize may use it and keeps full marks."""
    body = ("mean = x.mean(0, keepdim=True).expand(*x.shape)\n"
            "    std = ((x - mean) ** 2).mean(0, keepdim=True).sqrt().expand_as(x)\n"
            "    return (x - mean) / (std + eps)")
    report = grade_source("broadcasting", replace_solution(REFERENCE, "standardize", body), tmp_path)
    assert report.score == report.max_score


def test_catching_the_forbidden_error_does_not_help(tmp_path):
    body = ("try:\n        return x.expand(*shape)\n    except BaseException:\n"
            "        return x.as_strided(shape, [0] * len(shape))")
    report = grade_source("broadcasting", replace_solution(REFERENCE, "expand_to", body), tmp_path)
    assert "forbidden call: torch.Tensor.expand" in output_of(report, EXPAND_GROUP)
