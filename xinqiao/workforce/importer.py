"""Import of a training platform's export (CSV/XLSX) through the registry import framework
(xinqiao/people/registry/, docs/registries.md): one row per teacher × course.

A teacher is found by name within the unit the row names (school code, or unit name); a name that
two active staff of that unit share is refused (the row asks for the unit's staff page). Natural
key: staff + course + start date — re-importing the same export changes nothing, a changed row
(hours, end date, level, mode, provider) updates its record."""

# ruff: noqa: S608  (table and column names are constants of this module; values are parameters)
from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinqiao.access.roles import Cap
from xinqiao.orgs.models import Kind
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
    parse_decimal,
    register,
    text,
)

from .models import TrainingLevel, TrainingMode, TrainingRecord

LEVEL_ALIASES: dict[str, str] = {
    "国家级": TrainingLevel.NATIONAL,
    "国家": TrainingLevel.NATIONAL,
    "国培": TrainingLevel.NATIONAL,
    "省级": TrainingLevel.PROVINCIAL,
    "省": TrainingLevel.PROVINCIAL,
    "省培": TrainingLevel.PROVINCIAL,
    "市级": TrainingLevel.CITY,
    "市": TrainingLevel.CITY,
    "区级": TrainingLevel.DISTRICT,
    "县级": TrainingLevel.DISTRICT,
    "区县级": TrainingLevel.DISTRICT,
    "区(县)级": TrainingLevel.DISTRICT,
    "校级": TrainingLevel.SCHOOL,
    "校本": TrainingLevel.SCHOOL,
    "校本培训": TrainingLevel.SCHOOL,
}
MODE_ALIASES: dict[str, str] = {
    "线上": TrainingMode.ONLINE,
    "网络": TrainingMode.ONLINE,
    "网络研修": TrainingMode.ONLINE,
    "在线": TrainingMode.ONLINE,
    "线下": TrainingMode.OFFLINE,
    "面授": TrainingMode.OFFLINE,
    "集中面授": TrainingMode.OFFLINE,
    "现场": TrainingMode.OFFLINE,
}
UNIT_KINDS = (Kind.SCHOOL, Kind.STATION, Kind.CENTRE, Kind.DISTRICT, Kind.CITY)

TABLE = TrainingRecord._meta.db_table
STAGE = "xinqiao_training_stage"
VALUE_COLUMNS = "staff_id, course, provider, start_date, end_date, hours, level, mode"
STAGE_COLUMNS = f"code, {VALUE_COLUMNS}"
STAGE_PG = (
    "staff_id bigint, course varchar(200), provider varchar(200), start_date date, "
    "end_date date, hours numeric(6, 1), level varchar(16), mode varchar(8)"
)
STAGE_SQLITE = (
    "code char(32), staff_id integer, course varchar(200), provider varchar(200), "
    "start_date date, end_date date, hours decimal, level varchar(16), mode varchar(8)"
)
CHANGING = ("provider", "end_date", "hours", "level", "mode")


def _cached(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An export repeats a few courses, dates, levels and modes on every row: parse each text
    once (a CellError is raised again each time, exceptions are not cached)."""
    return functools.lru_cache(maxsize=4096)(parse)


def parse_hours(value: str) -> Decimal:
    number = parse_decimal(value.removesuffix("学时").removesuffix("小时").strip())
    if number <= 0 or number > 2000:
        raise CellError(_("Hours must be more than 0 and at most 2000."))
    return Decimal(str(number)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


class TrainingImport(Registry):
    kind = "training"
    label = gettext_lazy("Training records")
    cap = Cap.EDIT_TRAINING
    back_url = "workforce:training-summary"
    columns = (
        Column(
            "name",
            gettext_lazy("name"),
            ("姓名", "教师姓名", "学员姓名", "学员", "name"),
            text(60),
            required=True,
        ),
        Column(
            "staff_number",
            gettext_lazy("staff number"),
            ("工号", "教师工号", "职工号", "staff number"),
            text(32),
        ),
        Column(
            "unit_code",
            gettext_lazy("school code"),
            ("学校代码", "单位代码", "学校标识码", "school code"),
            text(20),
        ),
        Column(
            "unit_name",
            gettext_lazy("unit"),
            ("单位", "学校", "工作单位", "所在单位", "学校名称", "unit"),
            text(120),
        ),
        Column(
            "course",
            gettext_lazy("course"),
            ("培训名称", "课程名称", "项目名称", "培训项目", "course"),
            text(200),
            required=True,
        ),
        Column(
            "provider",
            gettext_lazy("provider"),
            ("培训机构", "主办单位", "承办单位", "provider"),
            text(200),
        ),
        Column(
            "start_date",
            gettext_lazy("start date"),
            ("开始日期", "培训开始日期", "开始时间", "培训日期", "start date"),
            _cached(parse_date),
            required=True,
        ),
        Column(
            "end_date",
            gettext_lazy("end date"),
            ("结束日期", "培训结束日期", "结束时间", "end date"),
            _cached(parse_date),
        ),
        Column(
            "hours",
            gettext_lazy("hours"),
            ("学时", "培训学时", "获得学时", "时长(小时)", "hours"),
            _cached(parse_hours),
            required=True,
        ),
        Column(
            "level",
            gettext_lazy("level"),
            ("培训级别", "级别", "层级", "level"),
            _cached(choice(TrainingLevel, LEVEL_ALIASES)),
            required=True,
        ),
        Column(
            "mode",
            gettext_lazy("mode"),
            ("培训形式", "形式", "培训方式", "方式", "mode"),
            _cached(choice(TrainingMode, MODE_ALIASES)),
            required=True,
        ),
    )
    one_of = (("unit_code", "unit_name"),)
    key_fields = ("staff_id", "course", "start_date")

    def prepare(self, ctx: ImportContext) -> None:
        units = ctx.units(UNIT_KINDS)
        by_code = {u.school_code: u for u in units if u.school_code}
        by_name: dict[str, list[Any]] = defaultdict(list)
        for unit in units:
            by_name[unit.name].append(unit)
        ids = [u.pk for u in units]
        staff: dict[tuple[int, str], list[int]] = defaultdict(list)
        numbers: dict[tuple[int, str], list[int]] = defaultdict(list)
        rows: Any = Staff.objects.filter(is_active=True, org_unit_id__in=ids).values_list(
            "pk", "org_unit_id", "org_unit__school_id", "name", "staff_number"
        )
        if len(ids) > 500:  # a whole city: one scan rather than a long IN list
            allowed = set(ids)
            rows = (
                Staff.objects.filter(is_active=True)
                .values_list("pk", "org_unit_id", "org_unit__school_id", "name", "staff_number")
                .iterator(chunk_size=20_000)
            )
        else:
            allowed = None
        for pk, unit_id, school_id, name, number in rows:
            if allowed is not None and unit_id not in allowed:
                continue
            staff[(school_id or unit_id, name)].append(pk)
            if number:
                numbers[(school_id or unit_id, number)].append(pk)
        ctx.cache.update(by_code=by_code, by_name=by_name, staff=staff, numbers=numbers)

    def check(self, row: Row, ctx: ImportContext) -> None:
        values = row.values  # an empty cell is None: `or` gives the default as Row.get does
        code, unit_name = values.get("unit_code") or "", values.get("unit_name") or ""
        unit = ctx.cache["by_code"].get(code) if code else None
        if unit is None and code:
            raise RowError(
                _("No unit with code %(code)s in your area.") % {"code": code}, "unit_code"
            )
        if unit is None:
            found = ctx.cache["by_name"].get(unit_name, [])
            if not found:
                raise RowError(
                    _("No unit named %(name)s in your area.") % {"name": unit_name}, "unit_name"
                )
            if len(found) > 1:
                raise RowError(
                    _("Several units are named %(name)s: give the school code.")
                    % {"name": unit_name},
                    "unit_name",
                )
            unit = found[0]
        unit_key = unit.school_id or unit.pk
        number = values.get("staff_number") or ""
        if number:  # the staff number (工号) decides; the name must agree
            matches = [
                pk
                for pk in ctx.cache["numbers"].get((unit_key, number), [])
                if pk in ctx.cache["staff"].get((unit_key, row.values["name"]), [])
            ]
            if not matches:
                raise RowError(
                    _("No active staff member %(name)s with staff number %(number)s at %(unit)s.")
                    % {"name": row.values["name"], "number": number, "unit": unit.name},
                    "staff_number",
                )
        else:
            matches = ctx.cache["staff"].get((unit_key, row.values["name"]), [])
        if not matches:
            raise RowError(
                _("No active staff member %(name)s at %(unit)s.")
                % {"name": row.values["name"], "unit": unit.name},
                "name",
            )
        if len(matches) > 1:
            raise RowError(
                _(
                    "Two staff members at %(unit)s are called %(name)s: enter this course on the "
                    "teacher's page."
                )
                % {"name": row.values["name"], "unit": unit.name},
                "name",
            )
        end = values.get("end_date") or values["start_date"]
        if end < values["start_date"]:
            raise RowError(_("The end date is before the start date."), "end_date")
        row.data["staff_id"] = matches[0]
        row.data["end_date"] = end

    def write(self, rows: list[Row], ctx: ImportContext) -> Counts:
        """Set-based: the chunk is staged (COPY on PostgreSQL, executemany on SQLite), then one
        UPDATE of the existing rows whose values changed and one INSERT of the new ones; an
        unchanged row is not written at all."""
        ops = connection.ops
        pg = connection.vendor == "postgresql"
        now = ops.adapt_datetimefield_value(timezone.now())
        if pg:  # psycopg adapts dates and decimals itself; the database draws the codes
            staged: list[tuple[Any, ...]] = [
                (
                    r.data["staff_id"],
                    r.values["course"],
                    r.values.get("provider") or "",
                    r.values["start_date"],
                    r.data["end_date"],
                    r.values["hours"],
                    r.values["level"],
                    r.values["mode"],
                )
                for r in rows
            ]
        else:
            staged = [
                (
                    uuid.uuid4().hex,
                    r.data["staff_id"],
                    r.values["course"],
                    r.values.get("provider") or "",
                    ops.adapt_datefield_value(r.values["start_date"]),
                    ops.adapt_datefield_value(r.data["end_date"]),
                    ops.adapt_decimalfield_value(r.values["hours"], 6, 1),
                    r.values["level"],
                    r.values["mode"],
                )
                for r in rows
            ]
        with connection.cursor() as cursor:
            if pg:
                cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ({STAGE_PG}) ON COMMIT DELETE ROWS"
                )
                # A chunk inside an outer transaction (a caller's atomic block, a test) commits
                # nothing: the rows of the previous chunk are still staged, emptied here.
                cursor.execute(f"DELETE FROM {STAGE}")
                with cursor.copy(f"COPY {STAGE} ({VALUE_COLUMNS}) FROM STDIN") as copy:
                    for item in staged:
                        copy.write_row(item)
            else:
                cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ({STAGE_SQLITE})")
                cursor.execute(f"DELETE FROM {STAGE}")
                cursor.executemany(
                    f"INSERT INTO {STAGE} ({STAGE_COLUMNS}) VALUES ({', '.join(['%s'] * 9)})",
                    staged,
                )
            # New rows first: when every staged row went in, none was stored before and the
            # UPDATE's join is skipped (a first import); rows just inserted equal their stage, so
            # the UPDATE never counts them.
            code = "gen_random_uuid()" if pg else "code"
            cursor.execute(
                f"INSERT INTO {TABLE} (code, {VALUE_COLUMNS}, certificate_name, certificate_type, "
                "certificate_storage, certificate_sha256, created_at) "
                f"SELECT {code}, {VALUE_COLUMNS}, '', '', '', '', %s FROM {STAGE} WHERE true "
                "ON CONFLICT (staff_id, course, start_date) DO NOTHING",
                [now],
            )
            created = cursor.rowcount
            updated = 0
            if created < len(rows):
                differs = " OR ".join(
                    f"{TABLE}.{c} {'IS DISTINCT FROM' if pg else 'IS NOT'} s.{c}" for c in CHANGING
                )
                cursor.execute(
                    f"UPDATE {TABLE} SET {', '.join(f'{c} = s.{c}' for c in CHANGING)} "
                    f"FROM {STAGE} s WHERE {TABLE}.staff_id = s.staff_id "
                    f"AND {TABLE}.course = s.course AND {TABLE}.start_date = s.start_date "
                    f"AND ({differs})"
                )
                updated = cursor.rowcount
        return Counts(created, updated, len(rows) - created - updated)


register(TrainingImport())
