"""Seam for apps above screening (alerts) to act on a hand-in inside its transaction.

A hook runs in the transaction that stores the responses, so a response is never stored without
what its hooks write (an alert and its notifications): both commit or neither does.
"""

from collections.abc import Callable, Sequence
from typing import Any

SubmissionHook = Callable[..., Any]
_hooks: list[SubmissionHook] = []


def register_submission_hook(hook: SubmissionHook) -> None:
    if hook not in _hooks:
        _hooks.append(hook)


def run_submission_hooks(
    *,
    assignment_id: int,
    student_id: int,
    school_id: int,
    stage_band: str,
    responses: Sequence[Any],
) -> None:
    for hook in _hooks:
        hook(
            assignment_id=assignment_id,
            student_id=student_id,
            school_id=school_id,
            stage_band=stage_band,
            responses=responses,
        )
