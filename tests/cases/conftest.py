"""Shared helpers of the case tests."""

from __future__ import annotations

from django.utils import timezone

from xinqiao.instruments.definition import get_definition
from xinqiao.instruments.engine import score_response
from xinqiao.screening.models import Assignment, Response


def respond(assignment: Assignment, code: str, answers: list[int | None]) -> Response:
    """A submitted screening: `assignment` hands in instrument `code` with `answers` now, scored
    by the real engine (4 seconds an item). Used by several test modules, which import it."""
    defn = get_definition(code)
    result = score_response(defn, answers, [4.0] * len(answers)).to_json_dict()
    return Response.objects.create(
        assignment=assignment,
        school_id=assignment.school_id,
        instrument_code=defn.code,
        instrument_version=defn.version,
        answers=answers,
        times=[4.0] * len(answers),
        scores=result["scores"],
        bands=result["bands"],
        critical=result["critical"],
        missing=result["missing"],
        flags=result["flags"],
        valid=result["valid"],
        submitted_at=timezone.now(),
        client_key=f"k-{assignment.pk}-{code}",
    )
