"""Assignment 3: linear regression two ways, the closed form and batch gradient descent.

Implement the four functions below. Read the handout (README.md) first: it
explains where the normal equation comes from, when the pseudo-inverse is
needed, and why features are scaled before gradient descent.
"""

from __future__ import annotations

import torch
from torch import Tensor


def add_bias(X: Tensor) -> Tensor:
    """``X`` [..., N, D] with a column of ones prepended: [..., N, D + 1] (the ``x0 = 1`` feature)."""
    # YOUR CODE HERE
    raise NotImplementedError


def normal_equation(X: Tensor, y: Tensor) -> Tensor:
    """The least-squares ``theta`` [..., D] minimising ``||X theta - y||^2``, batched over leading dimensions.

    ``X`` is [..., N, D] and ``y`` is [..., N]. With full column rank this is
    ``(X^T X)^-1 X^T y``; when ``X^T X`` is singular, the minimum-norm solution
    (as the pseudo-inverse gives). Forbidden: torch.linalg.lstsq,
    numpy.linalg.lstsq. Timed (a large batch of small systems): no Python loops.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def feature_scale(X: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(X_scaled, mean, std)`` per column of ``X`` [N, D], with the population std (correction 0).

    A column whose std is 0 scales to all zeros.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def gradient_descent(X: Tensor, y: Tensor, lr: float, steps: int) -> tuple[Tensor, Tensor]:
    """Batch gradient descent on ``J(theta) = ||X theta - y||^2 / (2N)`` from ``theta = 0``.

    Every step updates all components at once:
    ``theta <- theta - lr * X^T (X theta - y) / N``. Returns the final
    ``theta`` [D] and ``losses`` [steps], where ``losses[i]`` is ``J`` before
    update ``i``. ``lr <= 0`` or ``steps < 0`` raises ``ValueError``.
    """
    # YOUR CODE HERE
    raise NotImplementedError
