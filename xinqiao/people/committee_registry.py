"""The class committee members import (kind `committee_members`, issue 14, R5): the list of
psychology committee members (心理委员) a school keeps, through the registry import framework
(people/registry/, docs/registries.md, docs/school-organisation.md).

One row per appointment: the student's 全国学籍号 (found by its keyed hash, as the roster and
guardian imports do; never a plaintext number), optionally the name as a guard, the term (default:
the current one), the start date and optionally the end date. The student's class is their class
in the roster. Natural key: student + term. Written through the same services as the committee
page (`access.invitations.appoint_committee_member`: the appointment, the child's account with no
personal data, the role at the class; `end_committee_member`), each audited. An ended appointment
is never reopened. A class of junior or senior high left without one boy and one girl is imported
all the same, with a warning in the report, as the page warns."""

from __future__ import annotations

import datetime
from collections import defaultdict
from typing import Any

from django.db.models import Count
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xinqiao.core.errors import DomainError
from xinqiao.orgs.models import Term

from .guardian_registry import match_students, parse_student_number
from .models import CommitteeMember, Gender, Student
from .registry import (
    CellError,
    Column,
    Counts,
    ImportContext,
    Registry,
    Row,
    RowError,
    parse_date,
    register,
    text,
)
from .selectors import _expects_pair


def parse_term(value: str) -> Term:
    """A term by its code (2026-2027-1), its label (2026–2027 秋季学期) or "2026秋"/"2027春"."""
    from django.utils import translation

    wanted = "".join(value.split()).replace("—", "-").replace("–", "-")
    for term in Term.objects.all():
        names = {term.code, f"{term.school_year_start}-{term.school_year_start + 1}-"}
        for language in ("zh-hans", "en"):
            with translation.override(language):
                names.add("".join(str(term).split()).replace("–", "-"))
        spring_year = term.school_year_start + 1
        names.add(f"{term.school_year_start}秋" if term.season == "autumn" else f"{spring_year}春")
        if wanted in names or wanted.removesuffix("季").removesuffix("学期") in names:
            return term
    raise CellError(_("Unknown term “%(value)s”; write e.g. 2026-2027-1.") % {"value": value})


def _date(value: datetime.date) -> str:
    return str(formats.date_format(value, "SHORT_DATE_FORMAT"))


class CommitteeImport(Registry):
    kind = "committee_members"
    label = gettext_lazy("Class committee members")
    cap = "manage_committee"  # Cap.MANAGE_COMMITTEE (access is above people: the code is written)
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
            ("学生姓名", "姓名", "student name"),
            text(60),
        ),
        Column("term", gettext_lazy("term"), ("学期", "任职学期", "term"), parse_term),
        Column(
            "start_date",
            gettext_lazy("start date"),
            ("任职日期", "开始日期", "起始日期", "start date"),
            parse_date,
        ),
        Column(
            "end_date",
            gettext_lazy("end date"),
            ("卸任日期", "结束日期", "end date"),
            parse_date,
        ),
    )
    key_fields = ("student_number", "term_id")

    def prepare(self, ctx: ImportContext) -> None:
        from xinqiao.orgs.selectors import current_term

        ctx.cache["current_term"] = current_term()

    def check(self, row: Row, ctx: ImportContext) -> None:
        term = row.values.get("term") or ctx.cache["current_term"]
        if term is None:
            raise RowError(_("There is no current term: give the term."), "term")
        row.data["term"], row.data["term_id"] = term, term.pk
        start, end = row.values.get("start_date"), row.values.get("end_date")
        if start and end and end < start:
            raise RowError(_("The end date is before the start date."), "end_date")

    def write(self, rows: list[Row], ctx: ImportContext) -> Counts:
        from xinqiao.access import invitations

        counts = Counts()
        matched = match_students(
            rows, ctx, counts, related=("school", "school_class__parent", "user")
        )
        appointments: dict[tuple[int, int], list[CommitteeMember]] = defaultdict(list)
        for member in CommitteeMember.objects.filter(
            student__in=[student for _row, student in matched]
        ).order_by("start_date", "pk"):
            appointments[(member.student_id, member.term_id)].append(member)
        classes: dict[tuple[int, int], tuple[Any, list[Row]]] = {}
        for row, student in matched:
            term: Term = row.data["term"]
            held = appointments[(student.pk, term.pk)]
            try:
                outcome = self._write_row(row, student, term, held, ctx, invitations)
            except DomainError as exc:
                counts.errors.append((row, exc.field or "", exc.message))
                continue
            setattr(counts, outcome, getattr(counts, outcome) + 1)
            if student.school_class is not None:
                key = (student.school_class.pk, term.pk)
                classes.setdefault(key, (student.school_class, []))[1].append(row)
        self._pair_warnings(classes, counts)
        return counts

    def _write_row(
        self,
        row: Row,
        student: Student,
        term: Term,
        held: list[CommitteeMember],
        ctx: ImportContext,
        invitations: Any,
    ) -> str:
        start, end = row.values.get("start_date"), row.values.get("end_date")
        current = next((m for m in held if m.end_date is None), None)
        if current is not None:
            if end is None:
                return "unchanged"
            if end < current.start_date:
                raise DomainError(_("The end date is before the start date."), field="end_date")
            invitations.end_committee_member(actor=ctx.actor, member=current, end_date=end)
            return "updated"
        ended = [m for m in held if start is None or m.start_date == start]
        if ended:
            last = ended[-1]
            if end is not None and end == last.end_date:
                return "unchanged"
            assert last.end_date is not None
            raise DomainError(
                _(
                    "This appointment ended on %(date)s; an import does not reopen it (appoint "
                    "the student again on the committee page)."
                )
                % {"date": _date(last.end_date)},
                field="end_date" if end is not None else "student_number",
            )
        member, _slip = invitations.appoint_committee_member(
            actor=ctx.actor, student=student, term=term, start_date=start
        )
        if end is not None:
            invitations.end_committee_member(actor=ctx.actor, member=member, end_date=end)
        held.append(member)
        return "created"

    def _pair_warnings(
        self, classes: dict[tuple[int, int], tuple[Any, list[Row]]], counts: Counts
    ) -> None:
        """One boy and one girl in junior and senior high: a class the file leaves without either
        is imported all the same, each of its rows warned (as the committee page warns)."""
        for (class_id, term_id), (school_class, class_rows) in classes.items():
            if not _expects_pair(school_class):
                continue
            genders = dict(
                CommitteeMember.objects.filter(
                    school_class_id=class_id, term_id=term_id, end_date__isnull=True
                )
                .order_by()
                .values_list("student__gender")
                .annotate(n=Count("pk"))
            )
            if genders.get(Gender.MALE) and genders.get(Gender.FEMALE):
                continue
            message = _(
                "%(class)s does not have one boy and one girl on its committee this term."
            ) % {"class": school_class.name}
            for row in class_rows:
                counts.warnings.append((row, "student_number", message))


register(CommitteeImport())
