"""Reading the audit log: scoped to the auditor's units, filtered, paged by sequence number.

The table only grows, so nothing here counts it: pages are keyset pages on `seq` (the unique,
indexed chain position) and exports walk it in keyset chunks.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast

from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal
from xinqiao.orgs.models import Kind, OrgUnit, subtree_q

from .models import AuditEvent

# Dates in the search form are days on the city's clock, whatever the server's TIME_ZONE says.
CITY_TZ = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 50
EXPORT_CHUNK = 2000


def scope_q(principal: Principal) -> Q:
    """Which events an auditor may read (docs/permissions.md, "Audit log scope").

    - auditor at the city: every event;
    - auditor at a district: events about a school in the district (`school_id`), and events about
      the district's own org units (the district, its stations, schools, grades, classes). Other
      events without a school (accounts, city-level settings, other districts' units) are city-only.
    """
    q = Q(pk__in=[])
    for grant in principal.grants_with(Cap.VIEW_AUDIT_LOG):
        area = grant.area
        if area.parent_id is None:
            return Q()
        schools = OrgUnit.objects.filter(subtree_q(area), kind=Kind.SCHOOL).values("pk")
        units = (
            OrgUnit.objects.filter(subtree_q(area))
            .annotate(pk_text=Cast("pk", CharField()))
            .values("pk_text")
        )
        q |= Q(school_id__in=schools)
        q |= Q(object_type="orgs.orgunit", object_id__in=units)
    return q


def events_for(principal: Principal) -> QuerySet[AuditEvent]:
    """Every event this principal may read (nothing without the audit capability)."""
    if not principal.can(Cap.VIEW_AUDIT_LOG):
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(scope_q(principal))


def schools_for(principal: Principal) -> QuerySet[OrgUnit]:
    return principal.units(Cap.VIEW_AUDIT_LOG).filter(kind=Kind.SCHOOL)


def city_day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=CITY_TZ)


@dataclass
class EventFilter:
    """Search criteria; every field optional. Dates are inclusive days in Asia/Shanghai."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    school: OrgUnit | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    result: str = ""

    def q(self) -> Q:
        q = Q()
        if self.actor:
            q &= Q(actor_username=self.actor)
        if self.action:
            q &= Q(action__startswith=self.action)
        if self.object_type:
            q &= Q(object_type=self.object_type)
        if self.object_id:
            q &= Q(object_id=self.object_id)
        if self.school is not None:
            q &= Q(school_id=self.school.pk)
        if self.date_from:
            q &= Q(at__gte=city_day_start(self.date_from))
        if self.date_to:
            q &= Q(at__lt=city_day_start(self.date_to + datetime.timedelta(days=1)))
        if self.result:
            q &= Q(result=self.result)
        return q

    def describe(self) -> dict[str, Any]:
        """The criteria as plain values, for the export's own audit event."""
        out: dict[str, Any] = {}
        for name in ("actor", "action", "object_type", "object_id", "result"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.school is not None:
            out["school"] = self.school.pk
        for name in ("date_from", "date_to"):
            if getattr(self, name):
                out[name] = getattr(self, name).isoformat()
        return out


@dataclass
class EventPage:
    events: list[AuditEvent] = field(default_factory=list)
    newer: int | None = None  # pass as ?after=  to get the page of newer events
    older: int | None = None  # pass as ?before= to get the page of older events


def list_events(
    *,
    principal: Principal,
    filters: EventFilter,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> EventPage:
    """One page of matching events, newest first, by keyset on `seq` (no COUNT, no OFFSET)."""
    qs = events_for(principal).filter(filters.q())
    if after is not None:
        # The page just above `after`: read upwards, then show newest first.
        rows = list(qs.filter(seq__gt=after).order_by("seq")[: size + 1])
        has_more_newer = len(rows) > size
        events = list(reversed(rows[:size]))
        has_more_older = True
    else:
        if before is not None:
            qs = qs.filter(seq__lt=before)
        rows = list(qs.order_by("-seq")[: size + 1])
        has_more_older = len(rows) > size
        events = rows[:size]
        has_more_newer = before is not None
    page = EventPage(events=events)
    if events:
        if has_more_newer:
            page.newer = events[0].seq
        if has_more_older:
            page.older = events[-1].seq
    return page


def iter_events(
    *,
    principal: Principal,
    filters: EventFilter,
    up_to: int | None = None,
    chunk: int = EXPORT_CHUNK,
) -> Iterator[AuditEvent]:
    """All matching events, newest first, in keyset chunks (constant memory, no held cursor).

    `up_to` pins the export to the chain as it was when it started.
    """
    qs = events_for(principal).filter(filters.q())
    if up_to is not None:
        qs = qs.filter(seq__lte=up_to)
    last: int | None = None
    while True:
        batch_qs = qs if last is None else qs.filter(seq__lt=last)
        batch = list(batch_qs.order_by("-seq")[:chunk])
        yield from batch
        if len(batch) < chunk:
            return
        last = batch[-1].seq


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
