"""normal_equation: lstsq is forbidden however it is reached, and only in normal_equation."""

from __future__ import annotations

import pytest
from conftest import ROOT, grade_source, group_scores, output_of, replace_solution

SLUG = "normal_equation"
REFERENCE = (ROOT / f"solutions/{SLUG}/{SLUG}.py").read_text()
NORMAL = "normal_equation: full rank, rank-deficient, batched"
SCALE = "feature_scale: values, constant column"

ROUTES = {
    "direct": "return torch.linalg.lstsq(X, y.unsqueeze(-1)).solution.squeeze(-1)",
    "alias": "from torch.linalg import lstsq as solve_ls\n    return solve_ls(X, y.unsqueeze(-1))[0].squeeze(-1)",
    "getattr": "return getattr(torch.linalg, 'lst' + 'sq')(X, y.unsqueeze(-1))[0].squeeze(-1)",
    "importlib": ("import importlib\n    linalg = importlib.import_module('torch.linalg')\n"
                  "    return linalg.lstsq(X, y.unsqueeze(-1))[0].squeeze(-1)"),
    "numpy": ("import numpy as np\n"
              "    return torch.from_numpy(np.linalg.lstsq(X.numpy(), y.numpy(), rcond=None)[0]).to(X.dtype)"),
    "private_binding": "return torch._C._linalg.linalg_lstsq(X, y.unsqueeze(-1))[0].squeeze(-1)",
    "ops": "return torch.ops.aten.linalg_lstsq.default(X, y.unsqueeze(-1))[0].squeeze(-1)",
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_lstsq_is_forbidden_on_every_route(tmp_path, route):
    source = replace_solution(REFERENCE, "normal_equation", ROUTES[route])
    report = grade_source(SLUG, source, tmp_path, limits={"call_timeout_s": 5}, performance=False)
    scores = group_scores(report)
    assert scores[NORMAL] == 0, scores
    feedback = output_of(report, NORMAL)
    assert "normal_equation used a forbidden call" in feedback and "lstsq" in feedback, feedback
    assert scores[SCALE] == 1  # other parts are unaffected
