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


# A hand-in voided by a psychology teacher (services.voiding): apps above screening note it on
# what they made of it (alerts: the alerts it raised stay, with a note). Each hook returns how
# many of its records it noted; it runs in the voiding's transaction.
VoidHook = Callable[..., int]
_void_hooks: list[VoidHook] = []


def register_void_hook(hook: VoidHook) -> None:
    if hook not in _void_hooks:
        _void_hooks.append(hook)


def run_void_hooks(
    *, actor: Any, assignment_id: int, school_id: int, response_ids: Sequence[int]
) -> int:
    return sum(
        hook(
            actor=actor,
            assignment_id=assignment_id,
            school_id=school_id,
            response_ids=response_ids,
        )
        for hook in _void_hooks
    )


# Notes an app above screening adds to a campaign's page (emergency: the plan and team an incident
# or emergency campaign runs under). A note is a dict with `label`, `value` and an optional `url`;
# each source returns a list of notes for the campaign as the principal may see it.
CampaignNoteSource = Callable[..., list[dict[str, Any]]]
_campaign_note_sources: list[CampaignNoteSource] = []


def register_campaign_notes(source: CampaignNoteSource) -> None:
    if source not in _campaign_note_sources:
        _campaign_note_sources.append(source)


def campaign_notes(*, campaign: Any, principal: Any) -> list[dict[str, Any]]:
    return [
        note
        for source in _campaign_note_sources
        for note in source(campaign=campaign, principal=principal)
    ]
