"""Feedback quotes the call that returned the value being checked, however many calls came after."""

from __future__ import annotations

import pytest
import torch
from conftest import ROOT

from autograder.compare import assert_close, assert_equal, assert_raises
from autograder.course import resolve_assignment
from autograder.failures import CheckFailed
from autograder.origins import origin_of
from autograder.session import StudentSession
from autograder.student import StudentModule


@pytest.fixture(scope="module")
def student():
    session = StudentSession(resolve_assignment("broadcasting").manifest,
                             ROOT / "solutions" / "broadcasting" / "broadcasting.py")
    yield StudentModule(session)
    session.close()


def test_a_tensor_result_names_its_own_call(student):
    first = student.expand_to(torch.ones(3, 1), (3, 4))
    student.expand_to(torch.ones(2), (5, 2))  # a later call must not be quoted for `first`
    with pytest.raises(CheckFailed) as info:
        assert_close(first, torch.zeros(3, 4))
    assert "expand_to(float32[3, 1], (3, 4))" in info.value.details
    assert origin_of(first).shares_storage_with == [0] and not hasattr(first, "_ag_origin")


def test_a_tuple_result_names_its_own_call(student):
    first = student.broadcast_shape((2, 1), (1, 3))
    student.broadcast_shape((4,), (4,))
    with pytest.raises(CheckFailed) as info:
        assert_equal(first, (9, 9))
    assert "broadcast_shape((2, 1), (1, 3))" in info.value.details


def test_an_expected_error_names_the_call_it_made(student):
    with pytest.raises(CheckFailed) as info:
        assert_raises("ValueError", student.broadcast_shape, (2, 1), (1, 3))
    assert "call: broadcast_shape((2, 1), (1, 3))" in info.value.details
