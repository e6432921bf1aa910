"""Imports of two workforce registries through the registry import framework
(xinqiao/people/registry/, docs/registries.md, docs/workforce.md); each row is written through the
services (one audit event per record written); an unchanged row is not written.

- `research_activities`: a district's research activities (教研活动): district, date, theme,
  organiser, participants (staff names or 工号 separated by 、 or ;), notes. Natural key
  district + date + theme.
- `experts`: the expert pool (专家库) of the city or a district: name, affiliation, expertise,
  availability. Natural key: the pool (its unit) + name (two experts of one name in a pool are
  told apart by their affiliation).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinqiao.access.roles import Cap
from xinqiao.core.errors import DomainError
from xinqiao.orgs.models import Kind, OrgUnit, subtree_q
from xinqiao.people.models import Staff
from xinqiao.people.registry import (
    CellError,
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
from xinqiao.people.registry.units import UnitLookup, unit_columns

from . import services
from .models import Availability, Expert, ResearchActivity

_LIST_SPLIT_RE = re.compile(r"[、;；,，\n]+")


def parse_people(value: str) -> tuple[str, ...]:
    """ "张三、A001；李四" → ("张三", "A001", "李四"): names or staff numbers, in file order."""
    found: list[str] = []
    for part in _LIST_SPLIT_RE.split(value):
        part = part.strip()
        if part and part not in found:
            if len(part) > 60:
                raise CellError(_("“%(value)s” is not a name or a staff number.") % {"value": part})
            found.append(part)
    return tuple(found)


def _error(row: Row, exc: DomainError | ValidationError) -> tuple[Row, str, str]:
    if isinstance(exc, DomainError):
        return (row, exc.field or "", exc.message)
    return (row, "", "; ".join(exc.messages))


# --- research activities ------------------------------------------------------------------------
class ResearchActivityImport(Registry):
    kind = "research_activities"
    label = gettext_lazy("Research activities")
    cap = Cap.EDIT_WORKFORCE
    back_url = "workforce:research-indicator"
    columns = (
        *unit_columns(
            "district",
            code_aliases=("区县代码", "区代码", "district code"),
            name_aliases=("区县", "所属区县", "区", "区县名称", "district"),
            labels=(gettext_lazy("district code"), gettext_lazy("district")),
        ),
        Column(
            "date",
            gettext_lazy("date"),
            ("活动日期", "日期", "活动时间", "date"),
            parse_date,
            required=True,
        ),
        Column(
            "theme",
            gettext_lazy("theme"),
            ("活动主题", "主题", "教研主题", "theme"),
            text(200),
            required=True,
        ),
        Column(
            "organiser",
            gettext_lazy("organiser"),
            ("组织者", "主持人", "承办单位", "组织单位", "organiser"),
            text(100),
        ),
        Column(
            "participants",
            gettext_lazy("participants"),
            ("参加人员", "参与人员", "参会人员", "参加教师", "participants"),
            parse_people,
        ),
        Column("notes", gettext_lazy("notes"), ("备注", "说明", "notes"), text(2000)),
    )
    one_of = (("district_code", "district_name"),)
    key_fields = ("district_id", "date", "theme")

    def prepare(self, ctx: ImportContext) -> None:
        ctx.cache.update(units=UnitLookup(ctx, (Kind.DISTRICT,)), people={})

    def check(self, row: Row, ctx: ImportContext) -> None:
        district: OrgUnit = ctx.cache["units"].resolve(row, "district")
        row.data["district"], row.data["district_id"] = district, district.pk
        participants: list[Staff] = []
        unknown: list[str] = []
        for token in row.values.get("participants") or ():
            found = self._staff(district, token, ctx)
            if not found:
                unknown.append(token)
            elif len(found) > 1:
                raise RowError(
                    _("Several staff members are called %(name)s: give the staff number (工号).")
                    % {"name": token},
                    "participants",
                )
            elif found[0] not in participants:
                participants.append(found[0])
        if unknown:
            raise RowError(
                _("No active staff member of %(unit)s with this name or staff number: %(names)s.")
                % {"unit": district.name, "names": "、".join(unknown)},
                "participants",
            )
        row.data["participants"] = participants

    def _staff(self, district: OrgUnit, token: str, ctx: ImportContext) -> list[Staff]:
        """Active staff of the district whose 工号 is `token`, else whose name is."""
        cache: dict[tuple[int, str], list[Staff]] = ctx.cache["people"]
        key = (district.pk, token)
        if key not in cache:
            qs = Staff.objects.filter(is_active=True).filter(
                subtree_q(district, field="org_unit__path")
            )
            by_number = list(qs.filter(staff_number=token))
            cache[key] = by_number or list(qs.filter(name=token))
        return cache[key]

    def write(self, rows: list[Row], ctx: ImportContext) -> Counts:
        counts = Counts()
        existing: dict[tuple[int, Any, str], ResearchActivity] = {}
        districts = {r.data["district_id"] for r in rows}
        dates = {r.values["date"] for r in rows}
        for activity in (
            ResearchActivity.objects.filter(district_id__in=districts, date__in=dates)
            .prefetch_related("participants")
            .order_by("pk")
        ):
            existing.setdefault((activity.district_id, activity.date, activity.theme), activity)
        for row in rows:
            key = (row.data["district_id"], row.values["date"], row.values["theme"])
            found = existing.get(key)
            values = {
                "date": row.values["date"],
                "theme": row.values["theme"],
                "organiser": row.get("organiser", found.organiser if found else ""),
                "notes": row.get("notes", found.notes if found else ""),
            }
            people = row.data["participants"]
            try:
                if found is None:
                    services.record_research_activity(
                        actor=ctx.actor,
                        district=row.data["district"],
                        participants=people,
                        **values,
                    )
                    counts.created += 1
                    continue
                if row.values.get("participants") is None:
                    people = list(found.participants.all())
                same = {p.pk for p in found.participants.all()} == {p.pk for p in people}
                if same and all(getattr(found, k) == v for k, v in values.items()):
                    counts.unchanged += 1
                    continue
                services.update_research_activity(
                    found, actor=ctx.actor, participants=people, **values
                )
                counts.updated += 1
            except (DomainError, ValidationError) as exc:
                counts.errors.append(_error(row, exc))
        return counts


# --- the expert pool ------------------------------------------------------------------------------
AVAILABILITY_ALIASES = {
    "可用": Availability.AVAILABLE,
    "可聘请": Availability.AVAILABLE,
    "是": Availability.AVAILABLE,
    "有限": Availability.LIMITED,
    "部分时间": Availability.LIMITED,
    "时间有限": Availability.LIMITED,
    "暂不可用": Availability.UNAVAILABLE,
    "不可用": Availability.UNAVAILABLE,
    "否": Availability.UNAVAILABLE,
}


class ExpertImport(Registry):
    kind = "experts"
    label = gettext_lazy("Expert pool")
    cap = Cap.MANAGE_EXPERTS
    back_url = "workforce:expert-list"
    columns = (
        *unit_columns(
            "owner",
            code_aliases=("专家库所属单位代码", "所属单位代码", "pool code"),
            name_aliases=("专家库所属单位", "所属单位", "专家库", "所属区县", "pool"),
            labels=(gettext_lazy("expert pool code"), gettext_lazy("expert pool")),
        ),
        Column("name", gettext_lazy("name"), ("姓名", "专家姓名", "name"), text(60), required=True),
        Column(
            "affiliation",
            gettext_lazy("unit / affiliation"),
            ("工作单位", "单位", "所在单位", "单位/职务", "affiliation"),
            text(200),
        ),
        Column(
            "expertise",
            gettext_lazy("expertise"),
            ("专长", "擅长领域", "专业领域", "研究方向", "专业特长", "expertise"),
            text(300),
        ),
        Column(
            "availability",
            gettext_lazy("availability"),
            ("可用状态", "是否可用", "可参与情况", "availability"),
            choice(Availability, AVAILABILITY_ALIASES),
        ),
    )
    one_of = (("owner_code", "owner_name"),)
    key_fields = ("owner_id", "name", "affiliation")

    def prepare(self, ctx: ImportContext) -> None:
        ctx.cache["units"] = UnitLookup(ctx, (Kind.CITY, Kind.DISTRICT))

    def check(self, row: Row, ctx: ImportContext) -> None:
        owner: OrgUnit = ctx.cache["units"].resolve(row, "owner")
        row.data["owner"], row.data["owner_id"] = owner, owner.pk
        row.data["affiliation"] = row.get("affiliation", "")

    def write(self, rows: list[Row], ctx: ImportContext) -> Counts:
        counts = Counts()
        pool: dict[tuple[int, str], list[Expert]] = defaultdict(list)
        for expert in Expert.objects.filter(
            owner_id__in={r.data["owner_id"] for r in rows},
            name__in={r.values["name"] for r in rows},
        ).order_by("pk"):
            pool[(expert.owner_id, expert.name)].append(expert)
        touched: set[int] = ctx.cache.setdefault("touched", set())
        for row in rows:
            namesakes = pool[(row.data["owner_id"], row.values["name"])]
            affiliation = row.values.get("affiliation")
            found = namesakes
            if affiliation:
                found = [e for e in namesakes if e.affiliation == affiliation]
                if not found:
                    # One expert of this name not yet matched by another row: their affiliation
                    # changed (a namesake from elsewhere is another expert).
                    free = [e for e in namesakes if e.pk not in touched]
                    found = free if len(free) == 1 and len(namesakes) == 1 else []
            if len(found) > 1:
                counts.errors.append(
                    (
                        row,
                        "affiliation",
                        _("The pool has several experts called %(name)s: give the affiliation.")
                        % {"name": row.values["name"]},
                    )
                )
                continue
            changes = {
                field: row.values[field]
                for field in ("affiliation", "expertise", "availability")
                if row.values.get(field) is not None
            }
            try:
                if not found:
                    expert = services.create_expert(
                        actor=ctx.actor,
                        owner=row.data["owner"],
                        name=row.values["name"],
                        **changes,
                    )
                    namesakes.append(expert)
                    touched.add(expert.pk)
                    counts.created += 1
                    continue
                expert = found[0]
                touched.add(expert.pk)
                changes = {k: v for k, v in changes.items() if getattr(expert, k) != v}
                if not changes:
                    counts.unchanged += 1
                    continue
                services.update_expert(expert, actor=ctx.actor, **changes)
                counts.updated += 1
            except (DomainError, ValidationError) as exc:
                counts.errors.append(_error(row, exc))
        return counts


register(ResearchActivityImport())
register(ExpertImport())
