"""The staff import: the staff spreadsheet a school or district keeps, through the registry import
framework (people/registry/). Natural key: the unit and the staff number (工号) when the file has
one, else the unit and the name. A row creates or updates the staff record, opens the post it
names (a psychology teacher's full-/part-time switch ends the other post) and records the
qualification it names."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.db import connection, models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinqiao.orgs.models import Kind, OrgUnit

from ..models import (
    EmploymentStatus,
    Gender,
    Position,
    Qualification,
    QualificationKind,
    Staff,
    StaffPosition,
)
from ..registry import (
    CellError,
    Column,
    Counts,
    Registry,
    RowError,
    choice,
    insert_values,
    parse_date,
    text,
    upsert,
)
from ..registry import register as register_registry
from ..search import name_initials
from ..validators import normalise_mobile, validate_mobile

UNIT_KINDS = (Kind.SCHOOL, Kind.STATION, Kind.CENTRE, Kind.DISTRICT, Kind.CITY)
PSYCHOLOGY = (Position.PSYCHOLOGY_TEACHER_FULL, Position.PSYCHOLOGY_TEACHER_PART)

POSITION_ALIASES = {
    "专职心理教师": Position.PSYCHOLOGY_TEACHER_FULL,
    "专职心理健康教育教师": Position.PSYCHOLOGY_TEACHER_FULL,
    "心理教师": Position.PSYCHOLOGY_TEACHER_FULL,
    "心理健康教育教师": Position.PSYCHOLOGY_TEACHER_FULL,
    "兼职心理教师": Position.PSYCHOLOGY_TEACHER_PART,
    "兼职心理健康教育教师": Position.PSYCHOLOGY_TEACHER_PART,
    "班主任": Position.HEAD_TEACHER,
    "科任教师": Position.SUBJECT_TEACHER,
    "德育主任": Position.MORAL_EDUCATION_LEADER,
    "德育负责人": Position.MORAL_EDUCATION_LEADER,
    "德育干部": Position.MORAL_EDUCATION_LEADER,
    "校长": Position.PRINCIPAL,
    "辅导站专职人员": Position.STATION_COUNSELLOR,
    "辅导站心理辅导员": Position.STATION_COUNSELLOR,
    "辅导员": Position.STATION_COUNSELLOR,
    "心理教研员": Position.RESEARCH_TEACHER,
    "教研员": Position.RESEARCH_TEACHER,
    "中心工作人员": Position.CENTRE_STAFF,
    "导师": Position.MENTOR,
    "其他": Position.OTHER,
}
QUALIFICATION_ALIASES = {
    "心理学学历": QualificationKind.PSYCHOLOGY_DEGREE,
    "心理学专业": QualificationKind.PSYCHOLOGY_DEGREE,
    "心理学专业学历": QualificationKind.PSYCHOLOGY_DEGREE,
    "C证": QualificationKind.MHE_CERTIFICATE_C,
    "心理健康教育C证": QualificationKind.MHE_CERTIFICATE_C,
    "B证": QualificationKind.MHE_CERTIFICATE_B,
    "心理健康教育B证": QualificationKind.MHE_CERTIFICATE_B,
    "A证": QualificationKind.MHE_CERTIFICATE_A,
    "心理健康教育A证": QualificationKind.MHE_CERTIFICATE_A,
    "注册心理师": QualificationKind.REGISTERED_COUNSELLOR,
    "注册心理咨询师": QualificationKind.REGISTERED_COUNSELLOR,
    "其他": QualificationKind.OTHER,
}
# Staff fields a row may leave empty (the record then takes the field's default).
OPTIONAL_FIELDS = ("gender", "phone", "staff_number", "employment_status")
_FULL = {"专职", "全职", "full-time", "full", "f"}
_PART = {"兼职", "part-time", "part", "p"}


_MOBILE_RE = re.compile(r"^(?:\+?86)?(1\d{10})$")
_MOBILE_PREFIX_OK: dict[str, bool] = {}


def parse_mobile(value: str) -> str:
    """A mainland mobile, normalised to its 11 digits. The plain 11-digit form (nearly every
    cell) is decided by its 7-digit number segment (号段), validated once per segment: phone-number
    parsing of every cell was the import's slowest step."""
    digits = re.sub(r"[\s-]", "", value)
    match = _MOBILE_RE.match(digits)
    if match:
        number = match[1]
        segment = number[:7]
        ok = _MOBILE_PREFIX_OK.get(segment)
        if ok is None:
            try:
                validate_mobile(number)
                ok = True
            except Exception:
                ok = False
            _MOBILE_PREFIX_OK[segment] = ok
        if ok:
            return number
        raise CellError(_("Not a mainland mobile number."))
    try:
        validate_mobile(value)
    except Exception:
        raise CellError(_("Not a mainland mobile number.")) from None
    return normalise_mobile(value)


def parse_full_time(value: str) -> bool:
    v = value.strip().lower()
    if v in _FULL:
        return True
    if v in _PART:
        return False
    raise CellError(_("Write 专职 or 兼职."))


class StaffRegistry(Registry):
    kind = "staff"
    label = gettext_lazy("Staff")
    cap = "edit_staff"  # Cap.EDIT_STAFF (access is above people: the code is written out)
    back_url = "people:staff-list"
    columns = (
        Column(
            "staff_number",
            gettext_lazy("staff number"),
            ("工号", "教职工号", "教师编号", "职工号", "staff number"),
            text(32),
        ),
        Column("name", gettext_lazy("name"), ("姓名", "教师姓名", "name"), text(60), required=True),
        Column(
            "gender",
            gettext_lazy("gender"),
            ("性别", "gender"),
            choice(Gender, {"男": "M", "女": "F"}),
        ),
        Column(
            "unit_code",
            gettext_lazy("unit code"),
            ("单位代码", "学校标识码", "学校代码", "单位编码", "unit code"),
            text(32),
        ),
        Column(
            "unit_name",
            gettext_lazy("unit name"),
            ("单位名称", "学校名称", "所在单位", "工作单位", "学校", "单位", "unit"),
            text(100),
        ),
        Column(
            "position",
            gettext_lazy("position"),
            ("岗位", "岗位类型", "职务", "任职岗位", "position"),
            choice(Position, POSITION_ALIASES),
        ),
        Column(
            "full_time",
            gettext_lazy("full- or part-time"),
            ("专兼职", "专职/兼职", "是否专职", "full-time"),
            parse_full_time,
        ),
        Column(
            "start_date",
            gettext_lazy("start date"),
            ("任职日期", "任职时间", "起始日期", "start date"),
            parse_date,
        ),
        Column(
            "qualification",
            gettext_lazy("qualification"),
            ("资质", "资格证书", "证书类型", "资质证书", "qualification"),
            choice(QualificationKind, QUALIFICATION_ALIASES),
        ),
        Column(
            "certificate_number",
            gettext_lazy("certificate number"),
            ("证书编号", "证书号", "certificate number"),
            text(64),
        ),
        Column(
            "phone",
            gettext_lazy("mobile"),
            ("手机号码", "手机", "联系电话", "电话", "mobile"),
            parse_mobile,
        ),
        Column(
            "employment_status",
            gettext_lazy("employment status"),
            ("在职状态", "任职状态", "employment status"),
            choice(EmploymentStatus, {"在职": "employed", "借调": "seconded", "退休": "retired"}),
        ),
    )
    one_of = (("unit_code", "unit_name"),)
    key_fields = ("unit", "ident")

    def prepare(self, ctx: Any) -> None:
        by_code: dict[str, OrgUnit] = {}
        by_name: dict[str, list[OrgUnit]] = defaultdict(list)
        for unit in ctx.units(UNIT_KINDS):
            if unit.school_code:
                by_code[unit.school_code] = unit
            by_name[unit.name].append(unit)
        ctx.cache["by_code"], ctx.cache["by_name"] = by_code, by_name

    def check(self, row: Any, ctx: Any) -> None:
        code, name = row.values.get("unit_code"), row.values.get("unit_name")
        unit: OrgUnit | None = None
        if code:
            unit = ctx.cache["by_code"].get(code)
            if unit is None:
                raise RowError(
                    _("No unit with code %(code)s in your scope.") % {"code": code}, "unit_code"
                )
        elif name:
            found = ctx.cache["by_name"].get(name, [])
            if not found:
                raise RowError(
                    _("No unit named %(name)s in your scope.") % {"name": name}, "unit_name"
                )
            if len(found) > 1:
                raise RowError(
                    _("Several units are named %(name)s: give the unit code.") % {"name": name},
                    "unit_name",
                )
            unit = found[0]
        else:
            raise RowError(_("Give the unit code or the unit name."), "unit_name")
        position = row.values.get("position")
        full_time = row.values.get("full_time")
        if full_time is not None and position in (None, *PSYCHOLOGY):
            position = PSYCHOLOGY[0] if full_time else PSYCHOLOGY[1]
        if row.values.get("certificate_number") and not row.values.get("qualification"):
            raise RowError(_("A certificate number needs its qualification."), "qualification")
        row.data["unit"] = unit.pk
        row.data["position"] = position
        number = row.values.get("staff_number")
        row.data["ident"] = f"#{number}" if number else row.values["name"]

    def write(self, rows: list[Any], ctx: Any) -> Counts:
        today = ctx.today
        unit_ids = {r.data["unit"] for r in rows}
        numbers = {r.values["staff_number"] for r in rows if r.values.get("staff_number")}
        # A row without a staff number matches by name; a row with one by its number, or else
        # a record of its name that has no number yet: only those are loaded (loading every
        # namesake made each chunk read all earlier rows of the same names).
        names = {r.values["name"] for r in rows if not r.values.get("staff_number")}
        numbered_names = {r.values["name"] for r in rows if r.values.get("staff_number")}
        existing: dict[tuple[int, str], Staff] = {}
        for staff in _candidates(unit_ids, names, numbers, numbered_names):
            if staff.staff_number:
                existing[(staff.org_unit_id, f"#{staff.staff_number}")] = staff
            existing.setdefault((staff.org_unit_id, staff.name), staff)
        # A row of a stored record goes through `upsert` (compared field by field); a new record
        # is inserted from its values by `insert_values` (no model object; one COPY on
        # PostgreSQL): most rows of a first import.
        items: list[tuple[Any, dict[str, Any]]] = []
        stored: list[Staff | None] = []  # per row: its stored record, None for a new one
        new_rows: list[Any] = []
        for r in rows:
            key = (r.data["unit"], r.data["ident"])
            if key not in existing and r.values.get("staff_number"):
                # a record entered by name only gets its staff number from the file
                same_name = existing.get((r.data["unit"], r.values["name"]))
                if same_name is not None and not same_name.staff_number:
                    existing[key] = same_name
            obj = existing.get(key)
            stored.append(obj)
            if obj is None:
                new_rows.append(r)
                continue
            values: dict[str, Any] = {"name": r.values["name"], "org_unit_id": r.data["unit"]}
            for field in ("gender", "phone", "staff_number", "employment_status"):
                if r.values.get(field):
                    values[field] = r.values[field]
            items.append((key, values))
        done = upsert(
            Staff,
            items,
            existing=existing,
            fields=("name", "gender", "phone", "staff_number", "employment_status"),
        )
        optional = [(f, _field_default(f)) for f in OPTIONAL_FIELDS]
        new_ids = iter(
            insert_values(
                Staff,
                ("name", "name_initials", "org_unit_id", *OPTIONAL_FIELDS),
                [
                    (
                        r.values["name"],
                        name_initials(r.values["name"]),
                        r.data["unit"],
                        *(r.values.get(f) or default for f, default in optional),
                    )
                    for r in new_rows
                ],
            )
        )
        staff_of = [next(new_ids) if obj is None else obj.pk for obj in stored]
        old_ids = [obj.pk for obj in stored if obj is not None]
        touched: set[int] = set()
        # Posts: open the named post; a psychology teacher's switch ends the other kind. A new
        # record holds no post nor qualification yet: only stored records' are loaded.
        open_posts: dict[tuple[int, str, int], tuple[int, date | None] | None] = {
            (staff_id, position, unit_id): (pk, start)
            for pk, staff_id, position, unit_id, start in _open_posts(old_ids)
        }
        new_posts: list[tuple[Any, ...]] = []
        ended: list[StaffPosition] = []
        for r, staff_id in zip(rows, staff_of, strict=True):
            position = r.data["position"]
            if not position:
                continue
            unit_id = r.data["unit"]
            if (staff_id, position, unit_id) in open_posts:
                continue
            if position in PSYCHOLOGY:
                other = PSYCHOLOGY[1] if position == PSYCHOLOGY[0] else PSYCHOLOGY[0]
                old = open_posts.pop((staff_id, other, unit_id), None)
                if old is not None:  # held until yesterday; the new post starts today
                    pk, start = old
                    last = today - timedelta(days=1)
                    ended.append(StaffPosition(pk=pk, end_date=max(last, start) if start else last))
            open_posts[(staff_id, position, unit_id)] = None
            new_posts.append((staff_id, position, unit_id, r.values.get("start_date") or today))
            touched.add(staff_id)
        if ended:
            StaffPosition.objects.bulk_update(ended, ["end_date"])
        insert_values(
            StaffPosition, ("staff_id", "position", "org_unit_id", "start_date"), new_posts
        )
        # Qualifications: add the named one unless recorded (kind + number).
        held = _held_qualifications(old_ids)
        new_quals: list[tuple[Any, ...]] = []
        for r, staff_id in zip(rows, staff_of, strict=True):
            kind = r.values.get("qualification")
            if not kind:
                continue
            number = r.values.get("certificate_number") or ""
            if (staff_id, kind, number) in held:
                continue
            held.add((staff_id, kind, number))
            new_quals.append((staff_id, kind, number))
            touched.add(staff_id)
        insert_values(Qualification, ("staff_id", "kind", "number"), new_quals)
        created = len(new_rows)
        updated = {s.pk for s in done.updated} | (touched & set(old_ids))
        return Counts(
            created=created,
            updated=len(updated),
            unchanged=len(rows) - created - len(updated),
        )


def _field_default(name: str) -> Any:
    field = Staff._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field.get_default()


# On PostgreSQL a chunk's look-ups pass each set as one array (`= ANY(%s)`): ten thousand values
# as ten thousand parameters cost seconds to bind. SQLite takes the ORM's IN lists.
def _candidates(
    unit_ids: set[int], names: set[str], numbers: set[str], numbered_names: set[str]
) -> Iterable[Staff]:
    if connection.vendor != "postgresql":
        return Staff.objects.filter(org_unit_id__in=unit_ids).filter(
            models_q(names, numbers, numbered_names)
        )
    return Staff.objects.raw(
        f"SELECT * FROM {Staff._meta.db_table} WHERE org_unit_id = ANY(%s) AND "  # noqa: S608
        "(name = ANY(%s) OR staff_number = ANY(%s) OR (name = ANY(%s) AND staff_number = '')) "
        "ORDER BY name",
        [sorted(unit_ids), sorted(names), sorted(numbers), sorted(numbered_names)],
    )


def _open_posts(staff_ids: list[int]) -> Iterable[tuple[int, int, str, int, date | None]]:
    """(pk, staff_id, position, org_unit_id, start_date) of the posts the staff hold open."""
    if not staff_ids:
        return []
    if connection.vendor != "postgresql":
        return StaffPosition.objects.filter(
            staff_id__in=staff_ids, end_date__isnull=True
        ).values_list("pk", "staff_id", "position", "org_unit_id", "start_date")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, staff_id, position, org_unit_id, start_date "  # noqa: S608
            f"FROM {StaffPosition._meta.db_table} WHERE staff_id = ANY(%s) AND end_date IS NULL",
            [staff_ids],
        )
        return cursor.fetchall()


def _held_qualifications(staff_ids: list[int]) -> set[tuple[int, str, str]]:
    if not staff_ids:
        return set()
    if connection.vendor != "postgresql":
        return set(
            Qualification.objects.filter(staff_id__in=staff_ids).values_list(
                "staff_id", "kind", "number"
            )
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT staff_id, kind, number FROM {Qualification._meta.db_table} "  # noqa: S608
            "WHERE staff_id = ANY(%s)",
            [staff_ids],
        )
        return set(cursor.fetchall())


def models_q(names: set[str], numbers: set[str], numbered_names: set[str]) -> Any:
    from django.db.models import Q

    q = Q(pk__in=[])
    if names:
        q |= Q(name__in=names)
    if numbers:
        q |= Q(staff_number__in=numbers)
    if numbered_names:
        q |= Q(name__in=numbered_names, staff_number="")
    return q


register_registry(StaffRegistry())
