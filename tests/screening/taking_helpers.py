"""Helpers shared by the student-side tests (fixtures are in conftest.py).

`sitting` is an open autumn campaign of school A (junior battery PHQ-A, GAD-7, ASQ) with a class
sitting for class A1, where 王小明 (stu_a1) sits; stu_a2 is in class A2 (outside the sitting).
"""

from __future__ import annotations

import datetime
import itertools

from django.test import Client
from django.utils import timezone

from xinqiao.screening import services as screening
from xinqiao.screening.models import Assignment
from xinqiao.screening.taking.services import battery_for

_seq = itertools.count(1)


def make_open_campaign(world, **kwargs):
    now = timezone.now()
    options = {
        "actor": world.psych,
        "name": "2026 秋季心理普查",
        "term": world.term,
        "kind": "routine_autumn",
        "owner_unit": world.school_a,
        "opens_at": now - datetime.timedelta(hours=1),
        "closes_at": now + datetime.timedelta(days=7),
    }
    options.update(kwargs)
    campaign = screening.create_campaign(**options)
    screening.open_campaign(actor=world.psych, campaign=campaign)
    campaign.refresh_from_db()
    return campaign


def assignment_of(campaign, student) -> Assignment:
    return Assignment.objects.get(campaign=campaign, student=student, resit_of__isnull=True)


def enter(client: Client, sitting, student, **extra):
    data = {"code": sitting.code, "student_number": student.student_number, **extra}
    return client.post("/take/", data)


def battery(assignment: Assignment):
    return battery_for(
        assignment.campaign_id,
        assignment.campaign.code,
        assignment.stage_band,
        assignment.instruments,
    )


def full_answers(assignment: Assignment, value: int | None = None, seconds: float = 4.0):
    """One answer for every item (the first option code, or `value` where it is allowed);
    ask-if items answered only when they would be shown."""
    out = []
    for inst in battery(assignment):
        given: dict[str, int] = {}
        for item in inst.definition.items:
            codes = sorted(inst.codes[item.id])
            code = value if value in codes else codes[0]
            if item.ask_if_any_of and not any(
                given.get(t, -1) >= (item.ask_if_min or 0) for t in item.ask_if_any_of
            ):
                continue
            given[item.id] = code
            out.append({"i": inst.code, "q": item.id, "v": code, "s": seconds, "n": next(_seq)})
    return out


def post_json(client: Client, url: str, body) -> object:
    import json

    return client.post(url, data=json.dumps(body), content_type="application/json")
