"""The class committee members import (people/committee_registry.py) with real files."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from xinqiao.access.models import RoleAssignment
from xinqiao.audit.models import AuditEvent
from xinqiao.people.models import CommitteeMember
from xinqiao.people.services import create_student

from ..conftest import ID_A1, ID_A2, ID_B1
from ..people.roster_files import id_number, write_csv, write_xlsx
from .helpers import rejected_rows, report, run

KIND = "committee_members"
HEADERS = ["全国学籍号", "学生姓名", "学期", "任职日期", "卸任日期"]
A1, A2, B1 = "G" + ID_A1, "G" + ID_A2, "G" + ID_B1
D = datetime.date


def c_row(number: str, name: str = "", **extra: str) -> dict[str, str]:
    row = {"全国学籍号": number, "学生姓名": name, "任职日期": "2026-09-10"}
    row.update(extra)
    return row


@pytest.fixture
def girl(world):
    ident = id_number(D(2013, 5, 5), 77)
    world.girl_a1 = create_student(
        actor=None, student_number="G" + ident, name="陈小芳", gender="F",
        birth_date=D(2013, 5, 5), school_class=world.class_a1, term=world.term, id_number=ident,
    )  # fmt: skip
    world.GIRL = "G" + ident
    return world


def test_gbk_csv_appoints_with_accounts_and_roles(girl, tmp_path):
    w = girl
    rows = [c_row(A1, "王小明"), c_row(w.GIRL, "陈小芳", **{"学期": "2026-2027-1"})]
    path = write_csv(tmp_path / "c.csv", rows, headers=HEADERS, encoding="gbk")
    job, result = run(KIND, path, actor=w.school_admin)
    assert (result.created, result.rejected) == (2, 0)
    member = CommitteeMember.objects.get(student=w.girl_a1)
    assert (member.school_class, member.term, member.start_date, member.end_date) == (
        w.class_a1,
        w.term,
        D(2026, 9, 10),
        None,
    )
    w.girl_a1.refresh_from_db()
    account = w.girl_a1.user
    assert account is not None
    assert (account.first_name, account.email, account.has_usable_password()) == ("", "", False)
    assert RoleAssignment.objects.filter(
        user=account, role="committee_member", org_unit=w.class_a1, is_active=True
    ).exists()
    assert AuditEvent.objects.filter(action="people.committee_member.appointed").count() == 2
    assert report(job) == []  # one boy and one girl: no warning


def test_xlsx_with_english_headers(girl, tmp_path):
    headers = ["student number", "term", "start date"]
    rows = [{"student number": girl.GIRL, "term": "2026秋", "start date": "2026/9/1"}]
    _job, result = run(KIND, write_xlsx(tmp_path / "c.xlsx", rows, headers=headers))
    assert result.created == 1
    assert CommitteeMember.objects.get(student=girl.girl_a1).start_date == D(2026, 9, 1)


def test_a_class_without_the_pair_is_imported_with_a_warning(girl, tmp_path):
    path = write_csv(tmp_path / "c.csv", [c_row(A1), c_row(A2)], headers=HEADERS)
    job, result = run(KIND, path)
    assert (result.created, result.rejected) == (2, 0)  # imported all the same
    assert CommitteeMember.objects.count() == 2
    lines = rejected_rows(job)
    assert set(lines) == {"2", "3"}  # 七(1)班 has only a boy, 七(2)班 only a girl
    assert lines["2"][1] == "全国学籍号"
    assert lines["2"][2].startswith("Warning:")
    assert "七(1)班" in lines["2"][2]


def test_reimport_is_idempotent_an_end_date_ends_never_reopens(girl, tmp_path):
    w = girl
    rows = [c_row(A1), c_row(w.GIRL)]
    path = write_csv(tmp_path / "c.csv", rows, headers=HEADERS)
    run(KIND, path)
    _job, again = run(KIND, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    rows[0]["卸任日期"] = "2026-11-30"
    path2 = write_csv(tmp_path / "c2.csv", rows, headers=HEADERS)
    _job, third = run(KIND, path2)
    assert (third.updated, third.unchanged) == (1, 1)
    ended = CommitteeMember.objects.get(student=w.stu_a1)
    assert ended.end_date == D(2026, 11, 30)
    assert not RoleAssignment.objects.filter(
        user=w.stu_a1.user, role="committee_member", org_unit=w.class_a1, is_active=True
    ).exists()
    _job, fourth = run(KIND, path2)
    assert fourth.unchanged == 2
    job, fifth = run(KIND, path)  # without the end date: not reopened
    assert (fifth.rejected, fifth.created) == (1, 0)
    assert rejected_rows(job)["2"][1] == "全国学籍号"
    assert CommitteeMember.objects.filter(student=w.stu_a1).count() == 1


def test_bad_rows_rejected_with_row_numbers_good_rows_in(girl, tmp_path):
    rows = [
        c_row(girl.GIRL),
        c_row("G123"),  # row 3: not a student number
        c_row(A1, "别人"),  # row 4: the name does not match
        c_row(A1, **{"学期": "2030春"}),  # row 5: unknown term
        c_row(A1, **{"任职日期": "2026-10-01", "卸任日期": "2026-09-01"}),  # row 6: dates
        c_row(girl.GIRL, **{"学期": "2026-2027-1"}),  # row 7: same student and term as row 2
    ]
    job, result = run(KIND, write_csv(tmp_path / "c.csv", rows, headers=HEADERS))
    assert (result.created, result.rejected) == (1, 5)
    by_row = {k: v for k, v in rejected_rows(job).items() if not v[2].startswith("Warning")}
    assert set(by_row) == {"3", "4", "5", "6", "7"}
    assert by_row["3"][1] == "全国学籍号"
    assert by_row["4"][1] == "学生姓名"
    assert by_row["5"][1] == "学期"
    assert by_row["6"][1] == "卸任日期"
    # Audit events name the student by id, never by the plaintext 学籍号.
    assert all(
        A1 not in str(fields) for fields in AuditEvent.objects.values_list("fields", flat=True)
    )


def test_dry_run_changes_nothing(girl, tmp_path):
    path = write_csv(tmp_path / "c.csv", [c_row(girl.GIRL)], headers=HEADERS)
    _job, result = run(KIND, path, dry_run=True)
    assert result.created == 1
    assert not CommitteeMember.objects.exists()
    girl.girl_a1.refresh_from_db()
    assert girl.girl_a1.user is None


def test_students_outside_the_uploaders_area_are_rejected(girl, tmp_path):
    rows = [c_row(A1), c_row(A2), c_row(B1)]
    path = write_csv(tmp_path / "c.csv", rows, headers=HEADERS)
    job, result = run(KIND, path, actor=girl.head_teacher)  # class 七(1)班 only
    assert (result.created, result.rejected) == (1, 2)
    errors = {k for k, v in rejected_rows(job).items() if not v[2].startswith("Warning")}
    assert errors == {"3", "4"}
    assert list(CommitteeMember.objects.values_list("student", flat=True)) == [girl.stu_a1.pk]
    _job, school = run(KIND, path, actor=girl.school_admin)
    assert (school.created, school.unchanged, school.rejected) == (1, 1, 1)  # not 乙校's


@pytest.mark.parametrize("who", ["school_admin", "psych", "head_teacher"])
def test_upload_page_and_link_for_committee_managers(world, client_for, who):
    client = client_for(getattr(world, who))
    assert client.get(reverse("registries:upload", args=[KIND])).status_code == 200
    page = client.get(reverse("people:student-list")).content.decode()
    assert "committee-import-link" in page


@pytest.mark.parametrize("who", ["mentor", "district_admin", "auditor", "committee"])
def test_upload_page_wrong_role_403(world, client_for, who):
    response = client_for(getattr(world, who)).get(reverse("registries:upload", args=[KIND]))
    assert response.status_code == 403


def test_another_schools_job_is_404(world, client_for, tmp_path):
    path = write_csv(tmp_path / "c.csv", [c_row(A1)], headers=HEADERS)
    job, _result = run(KIND, path, actor=world.school_admin)
    url = reverse("registries:job-errors", kwargs={"kind": KIND, "code": job.code})
    assert client_for(world.school_admin).get(url).status_code == 200
    assert client_for(world.psych_b).get(url).status_code == 404
    assert client_for(world.mentor).get(url).status_code == 403
