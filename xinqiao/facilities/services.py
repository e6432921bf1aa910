"""Writes: a unit's counselling room and its functional rooms, checklist answers with their
photos, an evaluation's status. One transaction each, with its audit event; callers have checked
the actor's scope through the selectors."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.orgs.models import Kind, OrgUnit

from . import photos
from .checklist import BY_KEY
from .models import ChecklistAnswer, CounsellingRoom, RoomArea, RoomStatus, StatusChange

ROOM_UNIT_KINDS = {Kind.SCHOOL, Kind.STATION, Kind.CENTRE}
ROOM_FIELDS = ("location", "area_m2", "equipment", "opening_hours")


def _school_id(unit: OrgUnit) -> int | None:
    return unit.pk if unit.kind == Kind.SCHOOL else None


@transaction.atomic
def save_room(
    *,
    actor: Actor,
    unit: OrgUnit,
    location: str,
    area_m2: Decimal | None = None,
    equipment: str = "",
    opening_hours: str = "",
    areas: Mapping[str, tuple[int, Decimal | None]] | None = None,
) -> CounsellingRoom:
    """Record (or change) the counselling room of `unit` and, when `areas` is given, its
    functional rooms (function → (count, area); a count of 0 removes one)."""
    if unit.kind not in ROOM_UNIT_KINDS:
        raise DomainError(
            _("Counselling rooms belong to a school, a station or the city centre."), field="unit"
        )
    room = CounsellingRoom.objects.select_for_update().filter(unit=unit).first()
    created = room is None
    if room is None:
        room = CounsellingRoom(unit=unit)
    values = {
        "location": location.strip(),
        "area_m2": area_m2,
        "equipment": equipment.strip(),
        "opening_hours": opening_hours.strip(),
    }
    changed = sorted(k for k, v in values.items() if getattr(room, k) != v)
    for key, value in values.items():
        setattr(room, key, value)
    room.updated_by = actor
    room.full_clean(exclude=["unit", "updated_by"], validate_unique=False)
    room.save()
    if areas is not None:
        for function, (count, area) in areas.items():
            if count <= 0:
                deleted, _rows = RoomArea.objects.filter(room=room, function=function).delete()
                if deleted:
                    changed.append(f"areas.{function}")
                continue
            row, made = RoomArea.objects.get_or_create(
                room=room, function=function, defaults={"count": count, "area_m2": area}
            )
            if not made and (row.count, row.area_m2) != (count, area):
                row.count, row.area_m2 = count, area
                row.save(update_fields=["count", "area_m2"])
                changed.append(f"areas.{function}")
            elif made:
                changed.append(f"areas.{function}")
    record_event(
        actor=actor,
        action="facilities.room.created" if created else "facilities.room.updated",
        obj=room,
        school_id=_school_id(unit),
        fields={"unit": unit.pk, "changed": changed},
    )
    return room


@transaction.atomic
def answer_item(
    *,
    actor: Actor,
    room: CounsellingRoom,
    item: str,
    met: bool,
    note: str = "",
    photo: Any = None,
) -> ChecklistAnswer:
    """Answer one checklist item (yes / no, a note, an evidence photo). A new photo replaces
    the shown one; an answer without a new photo keeps the old photo."""
    if item not in BY_KEY or BY_KEY[item].retired:
        raise DomainError(_("This checklist item does not exist."), field="item")
    answer = ChecklistAnswer.objects.select_for_update().filter(room=room, item=item).first()
    stored = photos.store(photo, field=f"photo_{item}") if photo is not None else {}
    if answer is None:
        answer = ChecklistAnswer(room=room, item=item, met=met)
    before = (answer.met, answer.note) if answer.pk else None
    answer.met = met
    answer.note = note.strip()[:200]
    for key, value in stored.items():
        setattr(answer, key, value)
    answer.answered_by = actor
    answer.answered_at = timezone.now()
    answer.save()
    record_event(
        actor=actor,
        action="facilities.checklist.answered",
        obj=answer,
        school_id=_school_id(room.unit),
        fields={
            "room": room.pk,
            "item": item,
            "met": met,
            "before": list(before) if before else None,
            "photo": bool(stored),
        },
    )
    return answer


@transaction.atomic
def set_status(
    *,
    actor: Actor,
    room: CounsellingRoom,
    status: str,
    evaluated_on: datetime.date,
    note: str = "",
) -> StatusChange:
    """Record an evaluation's result: the room's status and the date, kept as a new row."""
    if status not in RoomStatus.values:
        raise DomainError(_("Choose a status."), field="status")
    if evaluated_on > timezone.localdate():
        raise DomainError(_("An evaluation is recorded after it took place."), field="evaluated_on")
    change = StatusChange.objects.create(
        room=room,
        status=status,
        evaluated_on=evaluated_on,
        note=note.strip(),
        set_by=actor,
        set_at=timezone.now(),
    )
    latest = room.evaluations.order_by("-evaluated_on", "-pk").first()
    if latest is not None:
        room.status, room.evaluated_on = latest.status, latest.evaluated_on
        room.save(update_fields=["status", "evaluated_on", "updated_at"])
    record_event(
        actor=actor,
        action="facilities.room.evaluated",
        obj=room,
        school_id=_school_id(room.unit),
        fields={"status": status, "evaluated_on": evaluated_on.isoformat()},
    )
    return change
