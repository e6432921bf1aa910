"""The demo city's school organisation and families over time (issue 14; docs/demo.md): dated
committee appointments with one replacement, a group membership that ended, the family
circumstances the generator flagged as history rows, and an open parent invitation. Through the
real services where a workflow exists (replacement, invitation)."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model

from xinqiao.access import invitations
from xinqiao.orgs.models import Term
from xinqiao.people.models import (
    FAMILY_FLAGS,
    CircumstanceSource,
    CommitteeMember,
    FamilyCircumstance,
    Guardian,
    SchoolGroupMember,
    Student,
)

from .family import DEMO_PARENT, DEMO_PSYCH

BATCH = 2000


def seed_demo_organisation() -> dict[str, int]:
    term = Term.objects.current()
    if term is None:
        return {}
    start = term.start_date
    CommitteeMember.objects.filter(term=term).update(start_date=start)
    SchoolGroupMember.objects.update(start_date=start - datetime.timedelta(days=365))
    psych = get_user_model().objects.filter(username=DEMO_PSYCH).first()

    # One class replaced a committee member this term (the history shows both).
    replaced = 0
    member = (
        CommitteeMember.objects.filter(term=term, school__staff__user=psych)
        .select_related("student", "term", "school_class")
        .order_by("id")
        .first()
    )
    if member is not None:
        successor = (
            Student.objects.filter(school_class=member.school_class, gender=member.student.gender)
            .exclude(committee_terms__term=term)
            .order_by("id")
            .first()
        )
        if successor is not None:
            invitations.replace_committee_member(actor=psych, member=member, successor=successor)
            replaced = 1

    # A crisis-group member who left last term.
    ended = SchoolGroupMember.objects.filter(is_leader=False).order_by("id").first()
    if ended is not None:
        ended.end_date = start - datetime.timedelta(days=30)
        ended.save(update_fields=["end_date"])

    # The generator's flags as history rows (from the roster, since the term began).
    rows = []
    for flag in FAMILY_FLAGS:
        flagged = Student.objects.filter(**{flag: True}).only("pk", "school_id")
        rows += [
            FamilyCircumstance(
                student_id=s.pk,
                school_id=s.school_id,
                kind=flag,
                start_date=start,
                source=CircumstanceSource.ROSTER,
            )
            for s in flagged
        ]
    FamilyCircumstance.objects.bulk_create(rows, batch_size=BATCH)

    # The demo parent's child's other guardian has an open, printed invitation.
    invited = 0
    parent_guardian = Guardian.objects.filter(user__username=DEMO_PARENT).first()
    if parent_guardian is not None:
        other = (
            Guardian.objects.filter(student_id=parent_guardian.student_id, user__isnull=True)
            .order_by("id")
            .first()
        )
        if other is not None:
            invitations.invite_parent(actor=psych, guardian=other)
            invited = 1
    return {
        "committee_replacements": replaced,
        "family_circumstances": len(rows),
        "parent_invitations": invited,
    }
