"""The guardians import (issue 14 "Families"): the guardian spreadsheet a school keeps, through the
registry import framework (people/registry/, docs/registries.md, docs/family.md).

One row per student × guardian: the student's 全国学籍号 (found by its keyed hash, as the roster
import does), the guardian's name, relation and mobile, optionally the family circumstances the
school knows of (留守、单亲、…). Natural key: student + guardian name + relation. A new key adds a
guardian; a changed mobile updates it (sealed again, bound to the guardian's code); an unchanged row
is not written. A guardianship that has ended is never reopened: its row is rejected with the date.
Circumstances are only added (through `record_circumstance`, source "import", which keeps the
Student flags in step); ending one stays a judgement made on the student's page."""

from __future__ import annotations

import re
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinqiao.core.errors import DomainError

from .importer.rows import _relation
from .models import FAMILY_FLAGS, CircumstanceSource, Guardian, Student, current_q
from .registry import (
    CellError,
    Column,
    Counts,
    ImportContext,
    Registry,
    Row,
    register,
    text,
    upsert,
)
from .search import number_hash
from .validators import STUDENT_NUMBER_RE, normalise_mobile, normalise_student_number

CIRCUMSTANCE_ALIASES: dict[str, str] = {
    "留守": "left_behind",
    "留守儿童": "left_behind",
    "left-behind": "left_behind",
    "left behind": "left_behind",
    "单亲": "single_parent",
    "单亲家庭": "single_parent",
    "single parent": "single_parent",
    "孤儿": "orphan_or_unsupported",
    "事实无人抚养": "orphan_or_unsupported",
    "事实无人抚养儿童": "orphan_or_unsupported",
    "孤儿/事实无人抚养": "orphan_or_unsupported",
    "orphan": "orphan_or_unsupported",
    "残疾": "disability",
    "残疾儿童": "disability",
    "disability": "disability",
    "低保": "low_income",
    "低保家庭": "low_income",
    "low income": "low_income",
    "low-income": "low_income",
    "随迁": "migrant",
    "随迁子女": "migrant",
    "随迁儿童": "migrant",
    "migrant": "migrant",
}
_NONE = {"无", "否", "没有", "none", "no", "-", "—", "/"}
_SPLIT_RE = re.compile(r"[、,，;；\s|]+")


def parse_student_number(value: str) -> str:
    number = normalise_student_number(value)
    if not STUDENT_NUMBER_RE.match(number):
        raise CellError(
            _("“%(value)s” is not a valid national student number (G + 18 characters).")
            % {"value": value}
        )
    return number


def parse_relation(value: str) -> str:
    relation = _relation(value)
    if relation is None:
        raise CellError(
            _("Unknown relation “%(value)s”; use 父亲, 母亲, 祖父母, 其他亲属 or 其他.")
            % {"value": value}
        )
    return relation


def parse_mobile(value: str) -> str:
    from django.core.exceptions import ValidationError

    from .validators import validate_mobile

    try:
        validate_mobile(value)
    except ValidationError:
        raise CellError(
            _("“%(value)s” is not a valid mainland mobile number.") % {"value": value}
        ) from None
    return normalise_mobile(value)


def parse_circumstances(value: str) -> tuple[str, ...]:
    """ "留守、低保" → ("left_behind", "low_income"); 无 / empty → (). Labels in either language
    are accepted too."""
    known = {k.lower(): v for k, v in CIRCUMSTANCE_ALIASES.items()}
    for code, label in FAMILY_FLAGS.items():
        known[code] = code
        known[str(label).lower()] = code
    if value.strip().lower() in _NONE:
        return ()
    found: list[str] = []
    for part in _SPLIT_RE.split(value.replace("（", "(").replace("）", ")")):
        part = part.strip().lower()
        if not part or part in _NONE:
            continue
        kind = known.get(part) or known.get(part.removesuffix("家庭").removesuffix("儿童"))
        if kind is None:
            raise CellError(
                _(
                    "Unknown family circumstance “%(value)s”; use 留守, 单亲, 孤儿, "
                    "事实无人抚养, 残疾, 低保 or 随迁."
                )
                % {"value": part}
            )
        if kind not in found:
            found.append(kind)
    return tuple(found)


def match_students(
    rows: list[Row], ctx: ImportContext, counts: Counts, *, related: tuple[str, ...]
) -> list[tuple[Row, Student]]:
    """Each row's student, found by the keyed hash of its 学籍号 (one query per chunk) and
    checked against the optional name. An unknown student and one outside the uploader's area
    get the same row error (nothing is revealed); the rows matched come back with their student."""
    hashes = {r.values["student_number"]: number_hash(r.values["student_number"]) for r in rows}
    students = {
        s.student_number_hash: s
        for s in Student.objects.filter(
            student_number_hash__in=set(hashes.values())
        ).select_related(*related)
    }
    matched: list[tuple[Row, Student]] = []
    for row in rows:
        student = students.get(hashes[row.values["student_number"]])
        if student is None or not ctx.allows(student.school_class or student.school):
            message = _("No student with this national student number in your area.")
            counts.errors.append((row, "student_number", message))
            continue
        given = row.values.get("student_name")
        if given and given != student.name:
            message = _("The name does not match the student with this number.")
            counts.errors.append((row, "student_name", message))
            continue
        matched.append((row, student))
    return matched


class GuardianImport(Registry):
    kind = "guardians"
    label = gettext_lazy("Guardians")
    cap = "manage_families"  # Cap.MANAGE_FAMILIES (access is above people: the code is written out)
    back_url = "people:student-list"
    columns = (
        Column(
            "student_number",
            gettext_lazy("national student number"),
            ("全国学籍号", "学籍号", "全国学籍号码", "学生学籍号", "student number"),
            parse_student_number,
            required=True,
        ),
        Column(
            "student_name",
            gettext_lazy("student name"),
            ("学生姓名", "student name"),
            text(60),
        ),
        Column(
            "name",
            gettext_lazy("guardian name"),
            ("监护人姓名", "监护人", "家长姓名", "家长", "guardian name", "guardian"),
            text(60),
            required=True,
        ),
        Column(
            "relation",
            gettext_lazy("relation"),
            ("与学生关系", "关系", "监护人关系", "家长关系", "称谓", "relation", "relationship"),
            parse_relation,
            required=True,
        ),
        Column(
            "phone",
            gettext_lazy("mobile"),
            (
                "手机号码",
                "手机",
                "联系电话",
                "监护人电话",
                "监护人手机",
                "家长电话",
                "家长手机",
                "电话",
                "mobile",
                "phone",
            ),
            parse_mobile,
            required=True,
        ),
        Column(
            "circumstances",
            gettext_lazy("family circumstances"),
            ("家庭情况", "特殊情况", "家庭特殊情况", "特殊群体", "family circumstances"),
            parse_circumstances,
        ),
    )
    key_fields = ("student_number", "name", "relation")

    def write(self, rows: list[Row], ctx: ImportContext) -> Counts:
        counts = Counts()
        good = match_students(rows, ctx, counts, related=("school", "school_class"))

        existing: dict[tuple[int, str, str], Guardian] = {
            (g.student_id, g.name, g.relation): g
            for g in Guardian.objects.filter(student_id__in={s.pk for _r, s in good})
        }
        items: list[tuple[Any, dict[str, Any]]] = []
        written: list[tuple[Row, Student]] = []
        for row, student in good:
            key = (student.pk, row.values["name"], row.values["relation"])
            found = existing.get(key)
            if found is not None and found.end_date is not None and not found.is_current:
                counts.errors.append(
                    (
                        row,
                        "name",
                        _(
                            "This guardianship ended on %(date)s; an import does not reopen it "
                            "(record the guardian again on the student's page)."
                        )
                        % {"date": formats.date_format(found.end_date, "SHORT_DATE_FORMAT")},
                    )
                )
                continue
            items.append(
                (
                    key,
                    {
                        "student_id": student.pk,
                        "school_id": student.school_id,
                        "name": row.values["name"],
                        "relation": row.values["relation"],
                        "phone": row.values["phone"],
                    },
                )
            )
            written.append((row, student))
        # New guardians in one bulk insert (each phone sealed with its own code); a changed
        # mobile is saved through the model (an encrypted field cannot be bulk-updated) — rare.
        updated: set[int] = set()
        for key, values in items:
            found = existing.get(key)
            if found is not None and found.phone != values["phone"]:
                found.phone = values["phone"]
                found.save(update_fields=["phone"])
                updated.add(id(found))
        done = upsert(Guardian, items, existing=existing, fields=())
        created = {id(g) for g in done.created}

        for (row, student), (key, _values) in zip(written, items, strict=True):
            guardian = existing[key]
            added = self._record_circumstances(row, student, ctx)
            if id(guardian) in created:
                counts.created += 1
            elif id(guardian) in updated or added:
                counts.updated += 1
            else:
                counts.unchanged += 1
        return counts

    def _record_circumstances(self, row: Row, student: Student, ctx: ImportContext) -> bool:
        """Record the row's circumstances the student does not hold now (service: history row,
        flag, audit). Returns whether anything was recorded."""
        from .services import record_circumstance

        kinds = row.values.get("circumstances") or ()
        if not kinds:
            return False
        held = set(student.circumstances.filter(current_q()).values_list("kind", flat=True)) | set(
            student.circumstances.filter(end_date__isnull=True).values_list("kind", flat=True)
        )
        added = False
        for kind in kinds:
            if kind in held:
                continue
            try:
                record_circumstance(
                    actor=ctx.actor,
                    student=student,
                    kind=kind,
                    source=CircumstanceSource.IMPORT,
                    start_date=ctx.today,
                )
            except DomainError:  # pragma: no cover - raced with a page's write
                continue
            added = True
        return added


register(GuardianImport())
