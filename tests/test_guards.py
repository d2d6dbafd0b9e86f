"""Bans trip for student code only: the framework's own code in the worker keeps every operator.

The worker decodes each input tensor with ``as_strided``; an assignment that bans ``as_strided``
(a classic shortcut for convolution) must still be able to send tensors, while the student's own
``as_strided`` (directly, through ``torch.ops.aten`` or from a thread they start) trips. Only the aten layer bans
it here, so each route reaches the dispatcher kernel.
"""

from __future__ import annotations

import pytest
import torch

from autograder.course import resolve_assignment
from autograder.failures import ForbiddenCallError
from autograder.session import StudentSession
from autograder.student import StudentModule

SUBMISSION = '''
import threading
import torch

def plain(x):
    return x + 1

def strided(x):
    return x.as_strided((2,), (1,))

def via_ops(x):
    return torch.ops.aten.as_strided(x, (2,), (1,))

exported = torch.ops.aten.as_strided  # the operator itself as the graded function

def threaded(x):
    t = threading.Thread(target=torch.ops.aten.as_strided, args=(x, (2,), (1,)))
    t.start()
    t.join()
    return 0
'''


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    manifest = resolve_assignment("broadcasting").manifest
    forbidden = manifest.forbidden.model_copy(update={"aten": {"as_strided (any route)": "^as_strided$"}})
    manifest = manifest.model_copy(update={"forbidden": forbidden})
    path = tmp_path_factory.mktemp("sub") / "broadcasting.py"
    path.write_text(SUBMISSION)
    session = StudentSession(manifest, path)
    yield StudentModule(session)
    session.close()


def test_the_frameworks_own_decoding_keeps_a_banned_operator(student):
    x = torch.arange(6.0).reshape(2, 3).t()  # non-contiguous: decoded with as_strided
    assert torch.equal(student.plain(x), x + 1)


@pytest.mark.parametrize("route", ["strided", "via_ops", "threaded", "exported"])
def test_student_code_trips_the_ban_by_any_route(student, route):
    args = ((2,), (1,)) if route == "exported" else ()
    with pytest.raises(ForbiddenCallError) as info:
        getattr(student, route)(torch.arange(4.0), *args)
    assert "as_strided" in str(info.value)
