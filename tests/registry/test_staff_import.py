"""The staff import (people/staffing/registry.py) through the framework, with real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from xinqiao.people.importer import files
from xinqiao.people.models import Qualification, Staff, StaffPosition
from xinqiao.people.registry import create_job, run_job, store_upload
from xinqiao.people.search import name_initials

from ..people.roster_files import write_csv, write_xlsx

HEADERS = [
    "工号",
    "姓名",
    "性别",
    "学校标识码",
    "单位名称",
    "岗位",
    "专兼职",
    "资格证书",
    "证书编号",
    "手机号码",
]


def staff_row(n: int, **extra) -> dict[str, str]:
    row = {
        "工号": f"A{n:04d}",
        "姓名": f"教师{n}",
        "性别": "女" if n % 2 else "男",
        "学校标识码": "3601000001",
        "单位名称": "",
        "岗位": "心理教师",
        "专兼职": "专职" if n % 3 == 0 else "兼职",
        "资格证书": "C证",
        "证书编号": f"C-{n}",
        "手机号码": f"1380013{n:04d}",
    }
    row.update(extra)
    return row


def run(path: Path, *, actor=None, dry_run=False):
    relative, _size = store_upload([path.read_bytes()], path.name)
    job = create_job(
        actor=actor, kind="staff", file=relative, original_name=path.name, dry_run=dry_run
    )
    result = run_job(job)
    job.refresh_from_db()
    return job, result


def report(job) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(files.read(job.error_report).decode("utf-8-sig"))))


def test_import_creates_staff_posts_and_qualifications(world, tmp_path):
    rows = [staff_row(n) for n in range(1, 7)]
    _job, result = run(write_csv(tmp_path / "s.csv", rows, headers=HEADERS, encoding="gbk"))
    assert (result.created, result.rejected) == (6, 0)
    teacher = Staff.objects.get(staff_number="A0003")
    assert teacher.user is None
    assert teacher.org_unit == world.school_a
    assert teacher.phone == "13800130003"
    assert teacher.gender == "F"
    assert list(teacher.positions.values_list("position", flat=True)) == ["psychology_teacher_full"]
    assert Qualification.objects.get(staff=teacher).kind == "mhe_certificate_c"


def test_reimport_is_idempotent_and_a_switch_keeps_history(world, tmp_path):
    path = write_csv(tmp_path / "s.csv", [staff_row(1), staff_row(2)], headers=HEADERS)
    run(path)
    _job, again = run(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    switched = write_csv(tmp_path / "s2.csv", [staff_row(1, 专兼职="专职")], headers=HEADERS)
    _job, third = run(switched)
    assert (third.created, third.updated) == (0, 1)
    posts = StaffPosition.objects.filter(staff__staff_number="A0001").order_by("pk")
    assert [(p.position, p.end_date is not None) for p in posts] == [
        ("psychology_teacher_part", True),
        ("psychology_teacher_full", False),
    ]


def test_xlsx_by_unit_name_and_english_headers(world, tmp_path):
    headers = ["name", "unit", "position", "mobile"]
    rows = [
        {
            "name": "张老师",
            "unit": "甲区辅导站",
            "position": "辅导站专职人员",
            "mobile": "13900139000",
        }
    ]
    _job, result = run(write_xlsx(tmp_path / "s.xlsx", rows, headers=headers))
    assert result.created == 1
    staff = Staff.objects.get(name="张老师")
    assert staff.org_unit == world.station_a
    assert staff.positions.get().position == "station_counsellor"


def test_bad_rows_rejected_with_reasons_good_rows_in(world, tmp_path):
    rows = [
        staff_row(1),
        staff_row(2, 手机号码="12345"),  # row 3
        staff_row(3, 学校标识码="9999999999"),  # row 4
        staff_row(4, 岗位="校医"),  # row 5
    ]
    job, result = run(write_csv(tmp_path / "s.csv", rows, headers=HEADERS))
    assert (result.created, result.rejected) == (1, 3)
    by_row = {r[0]: r for r in report(job)[1:]}
    assert set(by_row) == {"3", "4", "5"}
    assert by_row["3"][1] == "手机号码"
    assert "9999999999" in by_row["4"][2]
    assert by_row["5"][1] == "岗位"


def test_scope_school_admin_cannot_import_into_another_school(world, tmp_path):
    rows = [staff_row(1), staff_row(2, 学校标识码="3601000002")]
    job, result = run(
        write_csv(tmp_path / "s.csv", rows, headers=HEADERS), actor=world.school_admin
    )
    assert (result.created, result.rejected) == (1, 1)
    assert not Staff.objects.filter(org_unit=world.school_b, staff_number="A0002").exists()
    assert job.org_unit == world.school_a


def test_dry_run_changes_nothing(world, tmp_path):
    before = Staff.objects.count()
    _job, result = run(write_csv(tmp_path / "s.csv", [staff_row(1)], headers=HEADERS), dry_run=True)
    assert result.created == 1
    assert Staff.objects.count() == before


def test_missing_name_column_fails(world, tmp_path):
    from xinqiao.core.tabular.reader import BadFileError

    with pytest.raises(BadFileError, match="姓名"):
        run(write_csv(tmp_path / "s.csv", [staff_row(1)], headers=["工号", "学校标识码"]))


def test_a_record_by_name_gets_its_number_and_a_phone_change_is_written(world, tmp_path):
    """The matching the faster writer narrowed: a record entered by name only is the one a
    numbered row of that name updates; a namesake with another number is left alone."""
    plain = Staff.objects.create(name="教师1", org_unit=world.school_a, phone="13800130009")
    other = Staff.objects.create(name="教师1", org_unit=world.school_a, staff_number="Z9")
    _job, result = run(write_csv(tmp_path / "s.csv", [staff_row(1)], headers=HEADERS))
    assert (result.created, result.updated) == (0, 1)
    plain.refresh_from_db()
    other.refresh_from_db()
    assert (plain.staff_number, plain.phone) == ("A0001", "13800130001")
    assert other.staff_number == "Z9"
    _job, again = run(write_csv(tmp_path / "s2.csv", [staff_row(1)], headers=HEADERS))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_a_name_change_keeps_a_phone_the_file_does_not_give(world, tmp_path):
    Staff.objects.create(
        name="旧名", org_unit=world.school_a, staff_number="A0001", phone="13800130009"
    )
    row = staff_row(1, 手机号码="")
    _job, result = run(write_csv(tmp_path / "s.csv", [row], headers=HEADERS))
    assert result.updated == 1
    staff = Staff.objects.get(staff_number="A0001")
    assert (staff.name, staff.phone) == ("教师1", "13800130009")


def test_a_chunk_of_new_changed_and_unchanged_rows(world, tmp_path, settings):
    """New records (inserted from plain values) and stored ones (compared, updated or left) in
    the same chunks: the counts, the sealed mobiles, the posts and qualifications of each."""
    settings.XINQIAO_REGISTRY_CHUNK_ROWS = 3
    run(write_csv(tmp_path / "a.csv", [staff_row(n) for n in (1, 2, 3)], headers=HEADERS))
    rows = [
        staff_row(1),  # unchanged
        staff_row(5),  # new
        staff_row(2, 手机号码="13900000002"),  # changed mobile
        # new, bare: no mobile, gender, post nor qualification
        staff_row(6, 手机号码="", 性别="", 岗位="", 专兼职="", 资格证书="", 证书编号=""),
        staff_row(3, 资格证书="B证", 证书编号="B-3"),  # stored, a new qualification
    ]
    _job, result = run(write_csv(tmp_path / "b.csv", rows, headers=HEADERS))
    assert (result.created, result.updated, result.unchanged, result.rejected) == (2, 2, 1, 0)
    by_number = {s.staff_number: s for s in Staff.objects.filter(org_unit=world.school_a)}
    assert by_number["A0002"].phone == "13900000002"
    assert by_number["A0005"].phone == "13800130005"
    bare = by_number["A0006"]
    assert (bare.phone, bare.gender, bare.employment_status, bare.is_active) == (
        "",
        "",
        "employed",
        True,
    )
    assert bare.name_initials == name_initials("教师6")  # what a save computes
    assert not bare.positions.exists()
    assert not bare.qualifications.exists()
    new = by_number["A0005"]
    assert new.positions.get().position == "psychology_teacher_part"
    qualification = new.qualifications.get()
    assert (qualification.kind, qualification.number) == ("mhe_certificate_c", "C-5")
    assert qualification.created_at is not None
    assert sorted(by_number["A0003"].qualifications.values_list("number", flat=True)) == [
        "B-3",
        "C-3",
    ]
    _job, again = run(write_csv(tmp_path / "c.csv", rows, headers=HEADERS))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
