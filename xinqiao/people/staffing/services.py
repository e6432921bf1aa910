"""Writes to staff records. One transaction each, with its audit event. Who may call them is
decided by the caller (views and the API fetch the staff through the access layer first)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.orgs.models import Kind, OrgUnit

from ..models import (
    CoverageArrangement,
    EmploymentStatus,
    Position,
    Qualification,
    Staff,
    StaffPosition,
)
from ..validators import normalise_mobile

STAFF_UNIT_KINDS = (Kind.SCHOOL, Kind.STATION, Kind.CENTRE, Kind.DISTRICT, Kind.CITY)
STAFF_FIELDS = ("name", "gender", "phone", "staff_number", "org_unit", "employment_status")


def _school_id(unit: OrgUnit) -> int | None:
    return unit.school_id if unit.kind != Kind.SCHOOL else unit.pk


def _check_unit(unit: OrgUnit) -> None:
    if unit.kind not in STAFF_UNIT_KINDS:
        raise DomainError(_("Staff belong to a school, station, centre or education office."))


@transaction.atomic
def create_staff_record(
    *,
    actor: Actor,
    name: str,
    org_unit: OrgUnit,
    gender: str = "",
    phone: str = "",
    staff_number: str = "",
    employment_status: str = EmploymentStatus.EMPLOYED,
    positions: list[tuple[str, OrgUnit | None, date | None]] | None = None,
) -> Staff:
    """A staff record without an account (an account comes later by invitation)."""
    _check_unit(org_unit)
    staff = Staff(
        name=name.strip(),
        org_unit=org_unit,
        gender=gender,
        phone=normalise_mobile(phone) if phone else "",
        staff_number=staff_number.strip(),
        employment_status=employment_status,
    )
    staff.full_clean(exclude=["user"])
    staff.save()
    for position, unit, start in positions or []:
        StaffPosition.objects.create(
            staff=staff, position=position, org_unit=unit or org_unit, start_date=start
        )
    record_event(
        actor=actor,
        action="people.staff.created",
        obj=staff,
        school_id=_school_id(org_unit),
        fields={"positions": [p for p, _unit, _start in positions or []], "account": False},
    )
    return staff


@transaction.atomic
def update_staff(*, actor: Actor, staff: Staff, **changes: Any) -> Staff:
    """Change the record's fields (STAFF_FIELDS); the audit names the fields, never the phone."""
    changed: list[str] = []
    for name, value in changes.items():
        if name not in STAFF_FIELDS:
            raise ValueError(name)
        if name == "phone" and value:
            value = normalise_mobile(value)
        if name == "org_unit":
            _check_unit(value)
        if getattr(staff, name) != value:
            setattr(staff, name, value)
            changed.append(name)
    if not changed:
        return staff
    staff.full_clean(exclude=["user"])
    staff.save()
    record_event(
        actor=actor,
        action="people.staff.updated",
        obj=staff,
        school_id=_school_id(staff.org_unit),
        fields={"changed": changed},
    )
    return staff


@transaction.atomic
def add_position(
    *,
    actor: Actor,
    staff: Staff,
    position: str,
    org_unit: OrgUnit | None = None,
    start_date: date | None = None,
) -> StaffPosition:
    if position not in Position.values:
        raise DomainError(_("Unknown position."), field="position")
    unit = org_unit or staff.org_unit
    if StaffPosition.objects.filter(
        staff=staff, position=position, org_unit=unit, end_date__isnull=True
    ).exists():
        raise DomainError(_("This post is already held."), field="position")
    post = StaffPosition.objects.create(
        staff=staff,
        position=position,
        org_unit=unit,
        start_date=start_date or timezone.localdate(),
    )
    record_event(
        actor=actor,
        action="people.staff_position.added",
        obj=post,
        school_id=_school_id(staff.org_unit),
        fields={"staff": staff.pk, "position": position, "unit": unit.pk},
    )
    return post


@transaction.atomic
def end_position(*, actor: Actor, post: StaffPosition, end_date: date | None = None) -> None:
    """The post is held until `end_date` (today by default); the row stays as history."""
    if post.end_date is not None:
        raise DomainError(_("This post has already ended."))
    end = end_date or timezone.localdate()
    if post.start_date is not None and end < post.start_date:
        raise DomainError(_("The end date is before the start date."), field="end_date")
    post.end_date = end
    post.save(update_fields=["end_date"])
    record_event(
        actor=actor,
        action="people.staff_position.ended",
        obj=post,
        school_id=_school_id(post.staff.org_unit),
        fields={"staff": post.staff_id, "position": post.position, "end_date": str(end)},
    )


@transaction.atomic
def add_qualification(
    *,
    actor: Actor,
    staff: Staff,
    kind: str,
    title: str = "",
    number: str = "",
    issuer: str = "",
    issued_on: date | None = None,
    file: Any = None,
) -> Qualification:
    if number and Qualification.objects.filter(staff=staff, kind=kind, number=number).exists():
        raise DomainError(_("This certificate is already recorded."), field="number")
    qualification = Qualification(
        staff=staff,
        kind=kind,
        title=title.strip(),
        number=number.strip(),
        issuer=issuer.strip(),
        issued_on=issued_on,
    )
    qualification.full_clean(exclude=["file"])
    if file:
        _seal_scan(qualification, file)
    qualification.save()
    record_event(
        actor=actor,
        action="people.qualification.added",
        obj=qualification,
        school_id=_school_id(staff.org_unit),
        fields={"staff": staff.pk, "kind": kind, "file": bool(file)},
    )
    return qualification


QUALIFICATION_FIELDS = ("kind", "title", "number", "issuer", "issued_on")


def _seal_scan(qualification: Qualification, file: Any) -> str:
    """Seal an uploaded scan under a new name; returns the name it replaces ("" if none).

    A scan may show personal data: sealed at rest like case documents (core/crypto.py), bound
    to its path; core/rotation.py re-seals the folder with the others."""
    from pathlib import Path

    from ..importer.files import seal

    suffix = Path(file.name).suffix.lower()[:8]
    relative = f"qualifications/{qualification.code}-{uuid.uuid4().hex[:8]}{suffix}"
    seal(relative, b"".join(file.chunks()))
    previous = qualification.file.name or ""
    qualification.file.name = relative
    return previous


def _delete_scan_after_commit(relative: str) -> None:
    if relative:
        from ..importer.files import delete

        transaction.on_commit(lambda: delete(relative))


def _qualification_fields(qualification: Qualification) -> dict[str, Any]:
    return {
        "staff": qualification.staff_id,
        "kind": qualification.kind,
        "title": qualification.title,
        "number": qualification.number,
        "issuer": qualification.issuer,
        "issued_on": str(qualification.issued_on) if qualification.issued_on else None,
        "file": bool(qualification.file),
    }


@transaction.atomic
def update_qualification(
    *, actor: Actor, qualification: Qualification, file: Any = None, **changes: Any
) -> Qualification:
    """Change a qualification's fields (QUALIFICATION_FIELDS) and optionally replace its scan
    (the old sealed file is deleted once the change is committed). The audit event keeps each
    changed field as [before, after]."""
    changed: dict[str, list[Any]] = {}
    for name, value in changes.items():
        if name not in QUALIFICATION_FIELDS:
            raise ValueError(name)
        if isinstance(value, str):
            value = value.strip()
        before = getattr(qualification, name)
        if before != value:
            changed[name] = [
                str(before) if before is not None else None,
                str(value) if value is not None else None,
            ]
            setattr(qualification, name, value)
    number_taken = (
        Qualification.objects.filter(
            staff=qualification.staff_id, kind=qualification.kind, number=qualification.number
        )
        .exclude(pk=qualification.pk)
        .exists()
    )
    if qualification.number and number_taken:
        raise DomainError(_("This certificate is already recorded."), field="number")
    if not changed and not file:
        return qualification
    qualification.full_clean(exclude=["file"])
    previous = _seal_scan(qualification, file) if file else ""
    qualification.save()
    _delete_scan_after_commit(previous)
    record_event(
        actor=actor,
        action="people.qualification.updated",
        obj=qualification,
        school_id=_school_id(qualification.staff.org_unit),
        fields={"staff": qualification.staff_id, "changed": changed, "file": bool(file)},
    )
    return qualification


@transaction.atomic
def remove_qualification(*, actor: Actor, qualification: Qualification) -> None:
    """Delete a qualification recorded in error, with its sealed scan; the audit event keeps
    what it said (never the scan itself)."""
    record_event(
        actor=actor,
        action="people.qualification.removed",
        obj=qualification,
        school_id=_school_id(qualification.staff.org_unit),
        fields=_qualification_fields(qualification),
    )
    _delete_scan_after_commit(qualification.file.name or "")
    qualification.delete()


@transaction.atomic
def end_staff_record(*, actor: Actor, staff: Staff, on: date | None = None) -> list[int]:
    """The record's side of leaving: every open post ends, the record is inactive and 'left'.
    Returns the ended posts' ids. access.staffing.staff_leaves adds the account's side."""
    day = on or timezone.localdate()
    open_posts = list(staff.positions.filter(end_date__isnull=True))
    for post in open_posts:
        post.end_date = max(day, post.start_date) if post.start_date else day
    StaffPosition.objects.bulk_update(open_posts, ["end_date"])
    staff.is_active = False
    staff.employment_status = EmploymentStatus.LEFT
    staff.left_on = day
    staff.save(update_fields=["is_active", "employment_status", "left_on"])
    record_event(
        actor=actor,
        action="people.staff.left",
        obj=staff,
        school_id=_school_id(staff.org_unit),
        fields={"left_on": str(day), "positions_ended": len(open_posts)},
    )
    return [p.pk for p in open_posts]


@transaction.atomic
def arrange_coverage(
    *,
    actor: Actor,
    school: OrgUnit,
    supporter: OrgUnit,
    start_date: date | None = None,
    end_date: date | None = None,
    note: str = "",
) -> CoverageArrangement:
    """A small school's psychology teaching is covered by a supporting school or station."""
    if school.kind != Kind.SCHOOL:
        raise DomainError(_("Choose a school."), field="school")
    if supporter.kind not in (Kind.SCHOOL, Kind.STATION, Kind.CENTRE) or supporter == school:
        raise DomainError(_("Choose another school or a station."), field="supporter")
    start = start_date or timezone.localdate()
    if end_date is not None and end_date < start:
        raise DomainError(_("The end date is before the start date."), field="end_date")
    arrangement = CoverageArrangement.objects.create(
        school=school,
        supporter=supporter,
        start_date=start,
        end_date=end_date,
        note=note.strip(),
        created_by=actor,
    )
    record_event(
        actor=actor,
        action="people.coverage.arranged",
        obj=arrangement,
        school_id=school.pk,
        fields={"supporter": supporter.pk, "start_date": str(start)},
    )
    return arrangement


@transaction.atomic
def end_coverage(*, actor: Actor, arrangement: CoverageArrangement, on: date | None = None) -> None:
    day = on or timezone.localdate()
    if arrangement.end_date is not None and arrangement.end_date <= day:
        raise DomainError(_("This arrangement has already ended."))
    arrangement.end_date = max(day, arrangement.start_date)
    arrangement.save(update_fields=["end_date"])
    record_event(
        actor=actor,
        action="people.coverage.ended",
        obj=arrangement,
        school_id=arrangement.school_id,
        fields={"end_date": str(arrangement.end_date)},
    )


COVERAGE_FIELDS = ("supporter", "start_date", "end_date", "note")


@transaction.atomic
def update_coverage(
    *, actor: Actor, arrangement: CoverageArrangement, **changes: Any
) -> CoverageArrangement:
    """Correct an arrangement (supporting unit, dates, note); the school stays. The audit event
    keeps each changed field as [before, after], so the history of who covered whom is kept."""
    changed: dict[str, list[Any]] = {}
    for name, value in changes.items():
        if name not in COVERAGE_FIELDS:
            raise ValueError(name)
        if name == "note":
            value = (value or "").strip()
        if name == "start_date" and value is None:
            continue  # the start date is required: an empty field keeps it
        before = getattr(arrangement, name)
        if before != value:
            changed[name] = [_plain(before), _plain(value)]
            setattr(arrangement, name, value)
    supporter = arrangement.supporter
    if supporter.kind not in (Kind.SCHOOL, Kind.STATION, Kind.CENTRE) or (
        supporter.pk == arrangement.school_id
    ):
        raise DomainError(_("Choose another school or a station."), field="supporter")
    if arrangement.end_date is not None and arrangement.end_date < arrangement.start_date:
        raise DomainError(_("The end date is before the start date."), field="end_date")
    if not changed:
        return arrangement
    arrangement.save(update_fields=list(changed))
    record_event(
        actor=actor,
        action="people.coverage.updated",
        obj=arrangement,
        school_id=arrangement.school_id,
        fields={"changed": changed},
    )
    return arrangement


def _plain(value: Any) -> Any:
    if isinstance(value, OrgUnit):
        return value.pk
    return str(value) if value is not None else None
