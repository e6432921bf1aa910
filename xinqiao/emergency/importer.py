"""The crisis-team members import (kind `crisis_team_members`, issue 14): the member list of the
city's and districts' crisis-intervention teams, through the registry import framework
(xinqiao/people/registry/, docs/registries.md, docs/emergency.md).

One row per period of service: the team (by its unit, and its name when the unit has several),
the member — a staff record found by 工号, or by name (and unit) among the staff of the team's
area; anyone else is an outside person with their organisation — the role, a duty phone (sealed
as the model does), the start date and optionally the end date. Natural key: team + person +
start date. Written through the services (`add_member`, `update_member`, `end_member`, each
audited):

- a new key starts a membership; a person's current membership that started earlier is ended the
  day before (a new role is a new period: who served how, when, is kept);
- the same key again: a changed role or phone corrects the current membership; an end date ends
  it. An ended membership is never reopened nor its dates changed (a row error).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinqiao.access.roles import Cap
from xinqiao.core.errors import DomainError
from xinqiao.orgs.models import subtree_q
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
from .models import CrisisTeam, TeamMember, TeamRole, validate_phone_number

ROLE_ALIASES: dict[str, str] = {
    "队长": TeamRole.LEADER,
    "组长": TeamRole.LEADER,
    "负责人": TeamRole.LEADER,
    "副队长": TeamRole.DEPUTY,
    "副组长": TeamRole.DEPUTY,
    "危机干预员": TeamRole.COUNSELLOR,
    "心理咨询师": TeamRole.COUNSELLOR,
    "心理辅导员": TeamRole.COUNSELLOR,
    "干预人员": TeamRole.COUNSELLOR,
    "精神科医生": TeamRole.PSYCHIATRIST,
    "医生": TeamRole.PSYCHIATRIST,
    "联络员": TeamRole.LIAISON,
    "队员": TeamRole.MEMBER,
    "成员": TeamRole.MEMBER,
}


def parse_phone(value: str) -> str:
    phone = value.replace(" ", "").removeprefix("+86")
    try:
        validate_phone_number(phone)
    except ValidationError:
        raise CellError(
            _("Enter a telephone number: digits, with an optional dash (0791-88330120).")
        ) from None
    return phone


def _date(value: datetime.date) -> str:
    return str(formats.date_format(value, "SHORT_DATE_FORMAT"))


class CrisisTeamMemberImport(Registry):
    kind = "crisis_team_members"
    label = gettext_lazy("Crisis-intervention team members")
    cap = Cap.EDIT_EMERGENCY
    back_url = "emergency:home"
    columns = (
        *unit_columns(
            "team_unit",
            code_aliases=("队伍所属单位代码", "所属单位代码", "team unit code"),
            name_aliases=("队伍所属单位", "所属单位", "所属区县", "team unit"),
            labels=(gettext_lazy("team's unit code"), gettext_lazy("team's unit")),
        ),
        Column(
            "team",
            gettext_lazy("team"),
            ("工作队名称", "队伍名称", "工作队", "team"),
            text(100),
        ),
        Column(
            "staff_number",
            gettext_lazy("staff number"),
            ("工号", "教职工号", "职工号", "staff number"),
            text(32),
        ),
        Column("name", gettext_lazy("name"), ("姓名", "成员姓名", "name"), text(60), required=True),
        Column(
            "organisation",
            gettext_lazy("unit / organisation"),
            ("成员单位", "工作单位", "所在单位", "单位", "organisation"),
            text(100),
        ),
        Column(
            "role",
            gettext_lazy("role"),
            ("队内职务", "角色", "职务", "分工", "role"),
            choice(TeamRole, ROLE_ALIASES),
            required=True,
        ),
        Column(
            "phone",
            gettext_lazy("duty phone"),
            ("值班电话", "联系电话", "手机号码", "电话", "phone"),
            parse_phone,
        ),
        Column(
            "started_on",
            gettext_lazy("start date"),
            ("起始日期", "开始日期", "加入日期", "入队日期", "start date"),
            parse_date,
            required=True,
        ),
        Column(
            "ended_on",
            gettext_lazy("end date"),
            ("结束日期", "退出日期", "离队日期", "end date"),
            parse_date,
        ),
    )
    one_of = (("team_unit_code", "team_unit_name"),)
    key_fields = ("team_id", "person", "started_on")

    def prepare(self, ctx: ImportContext) -> None:
        lookup = UnitLookup(ctx, services.TEAM_UNIT_KINDS)
        units = [u for found in lookup.by_name.values() for u in found]
        teams: dict[int, list[CrisisTeam]] = defaultdict(list)
        for team in CrisisTeam.objects.filter(unit__in=units).select_related("unit"):
            teams[team.unit_id].append(team)
        ctx.cache.update(units=lookup, teams=teams, team_units=units, staff_named={})

    def _named(self, name: str, ctx: ImportContext) -> list[Staff]:
        """Active staff of this name in the teams' areas (a team list is short: one query per
        name, not the whole city's staff)."""
        cache: dict[str, list[Staff]] = ctx.cache["staff_named"]
        if name not in cache:
            cache[name] = list(
                Staff.objects.filter(is_active=True, name=name)
                .filter(subtree_q(*ctx.cache["team_units"], field="org_unit__path"))
                .select_related("org_unit")
            )
        return cache[name]

    def check(self, row: Row, ctx: ImportContext) -> None:
        unit = ctx.cache["units"].resolve(row, "team_unit")
        teams: list[CrisisTeam] = ctx.cache["teams"].get(unit.pk, [])
        wanted = row.values.get("team")
        if wanted:
            teams = [t for t in teams if t.name == wanted]
        if not teams:
            raise RowError(
                _("%(unit)s has no crisis-intervention team of this name: add it first.")
                % {"unit": unit.name}
                if wanted
                else _("%(unit)s has no crisis-intervention team: add it first.")
                % {"unit": unit.name},
                "team" if wanted else "team_unit_name",
            )
        if len(teams) > 1:
            raise RowError(
                _("%(unit)s has several teams: give the team's name.") % {"unit": unit.name},
                "team",
            )
        team = teams[0]
        end = row.values.get("ended_on")
        if end is not None and end < row.values["started_on"]:
            raise RowError(_("The end date is before the start date."), "ended_on")
        staff = self._staff(row, ctx, team)
        row.data["team"], row.data["team_id"], row.data["staff"] = team, team.pk, staff
        if staff is not None:
            row.data["person"] = ("staff", staff.pk)
        else:
            row.data["person"] = ("name", row.values["name"], row.get("organisation", ""))

    def _staff(self, row: Row, ctx: ImportContext, team: CrisisTeam) -> Staff | None:
        """The staff record the row names in the team's area; None: an outside person."""
        name, number = row.values["name"], row.values.get("staff_number")
        in_area = [s for s in self._named(name, ctx) if team.unit.contains(s.org_unit)]
        if number:
            found = [s for s in in_area if s.staff_number == number]
            if not found:
                raise RowError(
                    _("No active staff member %(name)s with staff number %(number)s in %(unit)s.")
                    % {"name": name, "number": number, "unit": team.unit.name},
                    "staff_number",
                )
        else:
            found = in_area
            organisation = row.values.get("organisation")
            if organisation:
                found = [s for s in found if s.org_unit.name == organisation]
            if not found:
                return None
        if len(found) > 1:
            raise RowError(
                _("Several staff members are called %(name)s: give the staff number (工号).")
                % {"name": name},
                "name",
            )
        return found[0]

    def write(self, rows: list[Row], ctx: ImportContext) -> Counts:
        counts = Counts()
        members: dict[tuple[int, Any], list[TeamMember]] = defaultdict(list)
        team_ids = {r.data["team_id"] for r in rows}
        for member in TeamMember.objects.filter(team_id__in=team_ids).order_by("started_on"):
            if member.staff_id is not None:
                person: Any = ("staff", member.staff_id)
            else:
                person = ("name", member.name, member.organisation)
            members[(member.team_id, person)].append(member)
        for row in rows:
            held = members[(row.data["team_id"], row.data["person"])]
            try:
                outcome = self._write_row(row, held, ctx)
            except (DomainError, ValidationError) as exc:
                if isinstance(exc, DomainError):
                    reason, field = exc.message, exc.field or ""
                else:
                    reason, field = "; ".join(exc.messages), ""
                counts.errors.append((row, field, str(reason)))
                continue
            if outcome == "created":
                counts.created += 1
            elif outcome == "updated":
                counts.updated += 1
            else:
                counts.unchanged += 1
        return counts

    def _write_row(self, row: Row, held: list[TeamMember], ctx: ImportContext) -> str:
        start, end = row.values["started_on"], row.values.get("ended_on")
        role, phone = row.values["role"], row.get("phone", "")
        organisation = row.get("organisation", "")
        same = next((m for m in held if m.started_on == start), None)
        if same is not None:
            if same.ended_on is not None:
                if end == same.ended_on:
                    return "unchanged"
                raise DomainError(
                    _(
                        "This membership ended on %(date)s; an import does not reopen it or "
                        "change its dates."
                    )
                    % {"date": _date(same.ended_on)},
                    field="ended_on",
                )
            changed = services.update_member(
                actor=ctx.actor,
                member=same,
                role=role,
                organisation=organisation,
                phone=phone,
            )
            if end is not None:
                services.end_member(actor=ctx.actor, member=same, ended_on=end)
                return "updated"
            return "updated" if changed else "unchanged"
        current = next((m for m in held if m.ended_on is None), None)
        if current is not None and current.started_on > start:
            raise DomainError(
                _("This person's current membership began on %(date)s, after this row's start.")
                % {"date": _date(current.started_on)},
                field="started_on",
            )
        if current is not None and current.started_on < start:
            last = start - datetime.timedelta(days=1)
            services.end_member(actor=ctx.actor, member=current, ended_on=last)
        member = services.add_member(
            actor=ctx.actor,
            team=row.data["team"],
            role=role,
            started_on=start,
            staff=row.data["staff"],
            name=row.values["name"],
            organisation=organisation,
            phone=phone,
        )
        if end is not None:
            services.end_member(actor=ctx.actor, member=member, ended_on=end)
        held.append(member)
        return "created"


register(CrisisTeamMemberImport())
