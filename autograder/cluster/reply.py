"""A node's reply, checked by the head exactly as strictly as a local result.

A reply is a JSON string. The head parses it with ``json.loads`` (never
unpickles anything), validates it with pydantic models (the results with the
same ``Results`` model the local path writes), and takes the student and the
content hash from the task it sent, not from the reply.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autograder.batch.runner import Outcome, Task
from autograder.results import Results

MAX_REPLY_BYTES = 16 << 20


class NodeReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    student: str
    content_hash: str
    status: Literal["graded", "timeout", "crashed", "no_submission"]
    seconds: float = Field(ge=0)
    results: Results
    failure_kinds: dict[str, list[str]]
    framework_error: str
    node_id: str


class BadReply(Exception):
    """The reply is not a valid outcome for the task that was sent."""


def parse_reply(task: Task, payload: object) -> tuple[Outcome, str]:
    """(outcome, node id) from a node's JSON reply for ``task``; ``BadReply`` if it does not check out."""
    if not isinstance(payload, str) or len(payload) > MAX_REPLY_BYTES:
        raise BadReply(f"the reply is not a JSON string under {MAX_REPLY_BYTES >> 20} MiB")
    try:
        reply = NodeReply.model_validate(json.loads(payload))
    except (ValueError, ValidationError) as exc:
        raise BadReply(f"the reply does not validate: {str(exc)[:500]}") from None
    if (reply.student, reply.content_hash) != (task.student, task.content_hash):
        raise BadReply("the reply is for another submission")
    outcome = Outcome(task.student, task.content_hash, reply.status, reply.seconds,
                      reply.results.model_dump(exclude_none=True), reply.failure_kinds, reply.framework_error)
    return outcome, reply.node_id
