"""Transfer of an open case to the student's new school, only through the district station.

When the roster moves a student with an open case to another school, the case stays with the old
school (`Case.school`) until the receiving school accepts it:

1. the old school's psychology teacher requests the transfer with an encrypted handover note; it
   goes to the counselling station of the receiving school's district;
2. a counsellor of that station forwards it (`forward_transfers`);
3. a psychology teacher of the receiving school accepts it: the case's school and owner change, a
   `LevelChange` of kind "transferred" records it, the old school's support team is stood down.

There is no path from 1 to 3 that skips the station.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access import holders
from xinqiao.access.scope import principal_for
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor, User
from xinqiao.notifications import services as notifications
from xinqiao.orgs.models import Kind, OrgUnit

from ..models import Case, CaseTeamMember, CaseTransfer, ChangeKind, LevelChange, TransferStatus
from ..selectors.common import require_handle
from ..selectors.schooling import PENDING_TRANSFER, can_forward, can_handle_school, station_for
from .common import lock_case


def _lock_transfer(transfer: CaseTransfer) -> CaseTransfer:
    return (
        CaseTransfer.objects.select_for_update()
        .select_related("from_school", "to_school", "station")
        .get(pk=transfer.pk)
    )


@transaction.atomic
def request_transfer(
    case: Any, *, actor: User, to_school: OrgUnit, handover_note: str
) -> CaseTransfer:
    """The old school's psychology teacher asks for the case to follow the student. Checks: the
    actor handles the case; the case is open; the student is on the receiving school's roster; no
    transfer is under way; a handover note; the receiving district has a station. Effects: the
    `CaseTransfer` (requested), the station's counsellors told, audit `cases.transfer.requested`."""
    case = lock_case(case)
    require_handle(principal_for(actor), case)
    if not case.is_open:
        raise DomainError(_("Only an open case can be transferred."))
    if to_school.kind != Kind.SCHOOL:
        raise DomainError(_("A case can only be transferred to a school."), field="to_school")
    if to_school.pk == case.school_id:
        raise DomainError(_("The case is already held by this school."), field="to_school")
    if case.student.school_id != to_school.pk:
        raise DomainError(
            _(
                "The student is not on the roster of %(school)s. A case follows the student's "
                "school: the roster must record the move first."
            )
            % {"school": to_school.name},
            field="to_school",
        )
    if CaseTransfer.objects.filter(case=case, status__in=PENDING_TRANSFER).exists():
        raise DomainError(_("A transfer of this case is already under way."))
    handover_note = (handover_note or "").strip()
    if not handover_note:
        raise DomainError(
            _("Write a handover note for the receiving psychology teacher."),
            field="handover_note",
        )
    station = station_for(to_school)
    if station is None:
        raise DomainError(
            _(
                "The district of %(school)s has no counselling station, and a case is "
                "transferred only through the district station. Ask the district to set one up."
            )
            % {"school": to_school.name},
            field="to_school",
        )
    transfer = CaseTransfer.objects.create(
        case=case,
        from_school_id=case.school_id,
        to_school=to_school,
        station=station,
        handover_note=handover_note,
        requested_by=actor,
        requested_at=timezone.now(),
    )
    notifications.notify(
        recipients=holders.station_counsellors(to_school.pk),
        kind="case.transfer_requested",
        subject=_("A case transfer between schools is waiting for the station"),
        ref=transfer,
        url=reverse("cases:transfer-list"),
    )
    record_event(
        actor=actor,
        action="cases.transfer.requested",
        obj=transfer,
        school_id=case.school_id,
        fields={
            "case": str(case.code),
            "from_school": str(case.school.code),
            "to_school": str(to_school.code),
            "station": str(station.code),
        },
    )
    return transfer


@transaction.atomic
def forward_transfer(transfer: CaseTransfer, *, actor: Actor) -> CaseTransfer:
    """A counsellor of the receiving district's station passes the transfer on to the receiving
    school. Effects: status forwarded, the receiving school's psychology teachers told, audit
    `cases.transfer.forwarded`."""
    transfer = _lock_transfer(transfer)
    if not can_forward(principal_for(actor), transfer):
        raise PermissionDenied
    if transfer.status != TransferStatus.REQUESTED:
        raise DomainError(_("This transfer has already been forwarded."))
    transfer.status = TransferStatus.FORWARDED
    transfer.forwarded_by = actor
    transfer.forwarded_at = timezone.now()
    transfer.save(update_fields=["status", "forwarded_by", "forwarded_at"])
    notifications.notify(
        recipients=holders.psychology_teachers(transfer.to_school_id),
        kind="case.transfer_forwarded",
        subject=_("A high-care case is being transferred to your school"),
        ref=transfer,
        url=reverse("cases:transfer-incoming"),
    )
    record_event(
        actor=actor,
        action="cases.transfer.forwarded",
        obj=transfer,
        school_id=transfer.to_school_id,
        fields={"station": str(transfer.station.code)},
    )
    return transfer


@transaction.atomic
def accept_transfer(transfer: CaseTransfer, *, actor: Actor) -> CaseTransfer:
    """A psychology teacher of the receiving school takes the case over. Refused until the
    station has forwarded it. Effects: `Case.school` → the receiving school, owner → the
    accepting teacher; a `LevelChange` (transferred, level unchanged); the old school's support
    team stood down (the receiving teacher builds a new one); the requesting teacher told; audit
    `cases.transfer.accepted`."""
    transfer = _lock_transfer(transfer)
    if not can_handle_school(principal_for(actor), transfer.to_school):
        raise PermissionDenied
    if transfer.status == TransferStatus.REQUESTED:
        raise DomainError(
            _("The district station has not forwarded this transfer yet; it cannot be accepted.")
        )
    if transfer.status != TransferStatus.FORWARDED:
        raise DomainError(_("This transfer has already been accepted."))
    case = lock_case(transfer.case)
    if case.student.school_id != transfer.to_school_id:
        raise DomainError(
            _("The student is no longer on your school's roster; the case cannot move here.")
        )
    now = timezone.now()
    old_school = case.school
    case.school = transfer.to_school
    case.owner = actor
    case.save(update_fields=["school", "owner", "updated_at"])
    LevelChange.objects.create(
        case=case,
        kind=ChangeKind.TRANSFERRED,
        from_level=case.level,
        to_level=case.level if case.is_open else "",
        evidence={
            "from_school": str(old_school.code),
            "to_school": str(transfer.to_school.code),
            "station": str(transfer.station.code),
            "forwarded_by": transfer.forwarded_by_id,
        },
        changed_by=actor,
        at=now,
    )
    stood_down = CaseTeamMember.objects.filter(case=case, removed_at__isnull=True).update(
        removed_at=now
    )
    transfer.status = TransferStatus.ACCEPTED
    transfer.accepted_by = actor
    transfer.accepted_at = now
    transfer.save(update_fields=["status", "accepted_by", "accepted_at"])
    notifications.notify(
        recipients=[transfer.requested_by],
        kind="case.transfer_accepted",
        subject=_("The receiving school has accepted a case transfer"),
        ref=transfer,
        url=reverse("cases:transfer-incoming"),
    )
    record_event(
        actor=actor,
        action="cases.transfer.accepted",
        obj=transfer,
        school_id=transfer.to_school_id,
        fields={
            "case": str(case.code),
            "from_school": str(old_school.code),
            "to_school": str(transfer.to_school.code),
            "team_stood_down": stood_down,
        },
    )
    return transfer


MOVED_KIND = "case.student_moved"


def notify_moved_students(*, school_ids: list[int] | None) -> int:
    """After a roster change: tell the owner of each open case whose student now belongs to
    another school that the case needs a transfer — once per case (a notification of this kind
    linking to the case is the record that the owner was told). Two queries find the cases and
    which were told already, however many students moved."""
    from xinqiao.notifications.models import Notification

    from .common import case_url, notify_case

    cases = (
        Case.objects.open()
        .exclude(student__school_id=F("school_id"))
        .exclude(
            Exists(CaseTransfer.objects.filter(case=OuterRef("pk"), status__in=PENDING_TRANSFER))
        )
        .select_related("owner", "student__school_class")
    )
    if school_ids is not None:
        cases = cases.filter(student__school_id__in=school_ids)
    moved = [(case, case_url(case)) for case in cases]
    if not moved:
        return 0
    already = set(
        Notification.objects.filter(
            kind=MOVED_KIND, url__in=[url for _case, url in moved]
        ).values_list("url", flat=True)
    )
    told = 0
    for case, url in moved:
        if url in already:
            continue
        with transaction.atomic():
            told += notify_case(
                case=case,
                recipients=[case.owner],
                kind=MOVED_KIND,
                subject=_("A student with an open case has moved school: send the case on"),
            )
    return told


def on_students_changed(sender: Any, *, school_ids: list[int] | None, **kwargs: Any) -> None:
    notify_moved_students(school_ids=school_ids)
