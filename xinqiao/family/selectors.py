"""Reads of the family pages. A parent's children are the students linked to them as guardian
(access/scope.py: the parent role's scope), read through the access layer with
Cap.VIEW_OWN_CHILDREN; nothing here reads a score, an alert, a level or a case (T1 only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.functional import Promise

from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal
from xinqiao.core.context_processors import EMERGENCY_NUMBERS
from xinqiao.core.helplines import helplines_for_principal
from xinqiao.notifications import selectors as notifications_selectors
from xinqiao.notifications.models import InboxMessage
from xinqiao.people.models import Student
from xinqiao.screening.selectors import ConsentRequest, guardian_consent_requests


def list_children(*, principal: Principal) -> QuerySet[Student]:
    """The principal's own children (their guardian link), by name."""
    return (
        principal.students(cap=Cap.VIEW_OWN_CHILDREN)
        .select_related("school", "school_class", "school_class__parent")
        .order_by("name", "pk")
    )


def get_child(*, principal: Principal, code: Any) -> Student:
    """One of the principal's children by opaque code; 404 for anyone else's child."""
    return principal.get_student(code, cap=Cap.VIEW_OWN_CHILDREN)


def consent_requests(*, principal: Principal, children: list[Student]) -> list[ConsentRequest]:
    return guardian_consent_requests(principal=principal, students=children)


@dataclass
class ChildSummary:
    student: Student
    requests: list[ConsentRequest] = field(default_factory=list)

    @property
    def awaiting(self) -> int:
        return sum(1 for r in self.requests if r.awaiting)


@dataclass
class FamilyOverview:
    children: list[ChildSummary]
    unread: int

    @property
    def awaiting(self) -> int:
        return sum(c.awaiting for c in self.children)


def family_overview(*, principal: Principal) -> FamilyOverview:
    """Each child with the consent requests awaiting the parent, and the unread school messages:
    a fixed number of queries whatever the number of children or campaigns."""
    children = list(list_children(principal=principal))
    requests = consent_requests(principal=principal, children=children)
    summaries = [
        ChildSummary(child, [r for r in requests if r.student.pk == child.pk]) for child in children
    ]
    unread = notifications_selectors.unread_count(user=principal.user)
    return FamilyOverview(children=summaries, unread=unread)


def school_messages(*, principal: Principal, limit: int = 100) -> list[InboxMessage]:
    """What the school has told this parent: their own inbox (no one reads another's)."""
    return list(notifications_selectors.inbox(user=principal.user)[:limit])


@dataclass(frozen=True)
class Hotline:
    number: str
    label: str | Promise


def hotlines(principal: Any = None) -> list[Hotline]:
    """The helplines and emergency numbers, from the same source as every page's footer: the
    city's lines and those of the parent's children's district (core/helplines.py)."""
    return [Hotline(n, label) for n, label in helplines_for_principal(principal)] + [
        Hotline(n, label) for n, label in EMERGENCY_NUMBERS
    ]


def school_and_class(student: Student) -> str:
    """ "明湖区育才中学 七(1)班": the school, then the class when the child has one."""
    cls = student.school_class
    return f"{student.school.name} {cls.name}" if cls is not None else student.school.name
