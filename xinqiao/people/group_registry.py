"""The school groups import (kind `school_group_members`, issue 14, R27): the members of a
school's three groups (心理健康教育领导小组, 工作小组, 心理危机干预小组) from the list the school
keeps, through the registry import framework (people/registry/, docs/registries.md,
docs/school-organisation.md).

One row per member: the school, the group, the staff member (by 工号, or by name among the
school's active staff), their role (组长 / 副组长 / 成员), duty, start date and optionally end
date. Natural key: school + group + staff member. Written through the group page's services
(`add_group_member`, `end_group_member`, each audited): a changed role or duty ends the current
membership the day before and starts a new one (who held what when is kept); an end date ends it;
an ended membership is never reopened (a later start date is a new membership)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinqiao.core.errors import DomainError
from xinqiao.orgs.models import Kind, OrgUnit

from .models import GroupKind, GroupRole, SchoolGroupMember, Staff
from .registry import (
    Column,
    Counts,
    ImportContext,
    Registry,
    Row,
    RowError,
    choice,
    parse_date,
    register,
    text,
)
from .registry.units import UnitLookup, unit_columns

GROUP_ALIASES = {
    "领导小组": GroupKind.LEADERSHIP,
    "心理健康教育领导小组": GroupKind.LEADERSHIP,
    "心理健康工作领导小组": GroupKind.LEADERSHIP,
    "工作小组": GroupKind.WORK,
    "工作组": GroupKind.WORK,
    "心理健康教育工作小组": GroupKind.WORK,
    "危机干预小组": GroupKind.CRISIS,
    "心理危机干预小组": GroupKind.CRISIS,
    "危机干预工作小组": GroupKind.CRISIS,
}
ROLE_ALIASES = {
    "组长": GroupRole.LEADER,
    "副组长": GroupRole.DEPUTY,
    "成员": GroupRole.MEMBER,
    "组员": GroupRole.MEMBER,
}


def _date(value: datetime.date) -> str:
    return str(formats.date_format(value, "SHORT_DATE_FORMAT"))


class SchoolGroupImport(Registry):
    kind = "school_group_members"
    label = gettext_lazy("School groups")
    cap = "manage_school_groups"  # Cap.MANAGE_SCHOOL_GROUPS (access is above people)
    back_url = "people:staff-list"
    columns = (
        *unit_columns(),
        Column(
            "group",
            gettext_lazy("group"),
            ("小组", "小组名称", "工作组", "group"),
            choice(GroupKind, GROUP_ALIASES),
            required=True,
        ),
        Column(
            "staff_number",
            gettext_lazy("staff number"),
            ("工号", "教职工号", "职工号", "staff number"),
            text(32),
        ),
        Column("name", gettext_lazy("name"), ("姓名", "教师姓名", "name"), text(60), required=True),
        Column(
            "role",
            gettext_lazy("role in the group"),
            ("组内职务", "职务", "角色", "role"),
            choice(GroupRole, ROLE_ALIASES),
        ),
        Column("duty", gettext_lazy("duty"), ("分工", "职责", "duty"), text(100)),
        Column(
            "start_date",
            gettext_lazy("start date"),
            ("起始日期", "开始日期", "任职日期", "start date"),
            parse_date,
        ),
        Column(
            "end_date",
            gettext_lazy("end date"),
            ("结束日期", "卸任日期", "end date"),
            parse_date,
        ),
    )
    one_of = (("unit_code", "unit_name"),)
    key_fields = ("school_id", "group", "staff_id")

    def prepare(self, ctx: ImportContext) -> None:
        ctx.cache.update(units=UnitLookup(ctx, (Kind.SCHOOL,)), staff={}, leaders={})

    def _school_staff(self, school: OrgUnit, ctx: ImportContext) -> list[Staff]:
        cache: dict[int, list[Staff]] = ctx.cache["staff"]
        if school.pk not in cache:
            cache[school.pk] = list(
                Staff.objects.filter(org_unit__school=school, is_active=True).select_related(
                    "org_unit"
                )
            )
        return cache[school.pk]

    def check(self, row: Row, ctx: ImportContext) -> None:
        school: OrgUnit = ctx.cache["units"].resolve(row)
        name, number = row.values["name"], row.values.get("staff_number")
        found = [s for s in self._school_staff(school, ctx) if s.name == name]
        if number:
            found = [s for s in found if s.staff_number == number]
            if not found:
                raise RowError(
                    _("No active staff member %(name)s with staff number %(number)s at %(unit)s.")
                    % {"name": name, "number": number, "unit": school.name},
                    "staff_number",
                )
        if not found:
            raise RowError(
                _("No active staff member %(name)s at %(unit)s.")
                % {"name": name, "unit": school.name},
                "name",
            )
        if len(found) > 1:
            raise RowError(
                _("Several staff members are called %(name)s: give the staff number (工号).")
                % {"name": name},
                "name",
            )
        start, end = row.values.get("start_date"), row.values.get("end_date")
        if start and end and end < start:
            raise RowError(_("The end date is before the start date."), "end_date")
        if row.values.get("role") == GroupRole.LEADER and end is None:
            leaders: dict[tuple[int, str], int] = ctx.cache["leaders"]
            first = leaders.setdefault((school.pk, row.values["group"]), row.number)
            if first != row.number:
                raise RowError(
                    _("A group has one leader: row %(row)d names one already.") % {"row": first},
                    "role",
                )
        row.data.update(school=school, school_id=school.pk, staff=found[0], staff_id=found[0].pk)

    def write(self, rows: list[Row], ctx: ImportContext) -> Counts:
        counts = Counts()
        held: dict[tuple[int, str, int], list[SchoolGroupMember]] = defaultdict(list)
        for membership in (
            SchoolGroupMember.objects.filter(
                group__school_id__in={r.data["school_id"] for r in rows},
                staff_id__in={r.data["staff_id"] for r in rows},
            )
            .select_related("group")
            .order_by("start_date", "pk")
        ):
            group = membership.group
            held[(group.school_id, group.kind, membership.staff_id)].append(membership)
        for row in rows:
            key = (row.data["school_id"], row.values["group"], row.data["staff_id"])
            try:
                outcome = self._write_row(row, held[key], ctx)
            except DomainError as exc:
                counts.errors.append((row, exc.field or "", exc.message))
                continue
            setattr(counts, outcome, getattr(counts, outcome) + 1)
            self._principal_warning(row, counts)
        return counts

    def _principal_warning(self, row: Row, counts: Counts) -> None:
        """The leadership group is led by the principal (R27, the gap on the school page): a
        leader who does not hold the principal post is imported with a warning."""
        from .selectors import _principal_ids

        if (
            row.values["group"] != GroupKind.LEADERSHIP
            or row.values.get("role") != GroupRole.LEADER
        ):
            return
        if row.values.get("end_date") is not None:
            return
        school = row.data["school"]
        if row.data["staff_id"] not in _principal_ids([school]):
            counts.warnings.append(
                (
                    row,
                    "role",
                    _(
                        "The leadership group is to be led by the principal: %(name)s holds no "
                        "principal post at %(school)s (record it on the staff page)."
                    )
                    % {"name": row.values["name"], "school": school.name},
                )
            )

    def _write_row(self, row: Row, held: list[SchoolGroupMember], ctx: ImportContext) -> str:
        from . import services

        role = row.values.get("role") or GroupRole.MEMBER
        duty = row.values.get("duty") or ""
        start, end = row.values.get("start_date"), row.values.get("end_date")
        current = next((m for m in held if m.end_date is None), None)
        if current is not None and (start is None or start >= current.start_date):
            if (current.role, current.duty) == (role, duty) and start in (None, current.start_date):
                if end is None:
                    return "unchanged"
                services.end_group_member(actor=ctx.actor, membership=current, end_date=end)
                return "updated"
            # A new role or duty is a new period: the current one ends the day before.
            begins = start or timezone.localdate()
            last = max(begins - datetime.timedelta(days=1), current.start_date)
            services.end_group_member(actor=ctx.actor, membership=current, end_date=last)
            self._add(row, role, duty, begins, end, held, ctx)
            return "updated"
        if current is not None:
            raise DomainError(
                _("This person's current membership began on %(date)s, after this row's start.")
                % {"date": _date(current.start_date)},
                field="start_date",
            )
        ended = [m for m in held if start is None or m.start_date == start]
        if not ended and start is not None:
            ended = [m for m in held if m.end_date is not None and m.end_date >= start]
        if ended:
            last_one = ended[-1]
            assert last_one.end_date is not None
            if end is not None and end == last_one.end_date:
                return "unchanged"
            raise DomainError(
                _(
                    "This membership ended on %(date)s; an import does not reopen it or "
                    "change its dates."
                )
                % {"date": _date(last_one.end_date)},
                field="end_date" if end is not None else "name",
            )
        self._add(row, role, duty, start, end, held, ctx)
        return "created"

    def _add(
        self,
        row: Row,
        role: str,
        duty: str,
        start: datetime.date | None,
        end: datetime.date | None,
        held: list[SchoolGroupMember],
        ctx: ImportContext,
    ) -> Any:
        from . import services

        membership = services.add_group_member(
            actor=ctx.actor,
            school=row.data["school"],
            kind=row.values["group"],
            staff=row.data["staff"],
            role=role,
            duty=duty,
            start_date=start,
        )
        if end is not None:
            services.end_group_member(actor=ctx.actor, membership=membership, end_date=end)
        held.append(membership)
        return membership


register(SchoolGroupImport())
