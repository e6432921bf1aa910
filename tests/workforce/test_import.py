"""The training platform's export through the registry import framework: real files (UTF-8 with
aliases, GBK, XLSX), a bad row rejected with its row number while good rows go in, dry run,
idempotent re-import, the error report, and the uploader's area bounding the rows."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from xinqiao.people.importer import files
from xinqiao.people.models import ImportJob
from xinqiao.people.registry import create_job, run_job, store_upload
from xinqiao.workforce.models import TrainingRecord

from ..people.roster_files import write_csv, write_xlsx

HEADERS = [
    "姓名",
    "学校代码",
    "培训名称",
    "培训机构",
    "开始日期",
    "结束日期",
    "学时",
    "培训级别",
    "培训形式",
]


@pytest.fixture(autouse=True)
def inline(settings):
    settings.XINQIAO_IMPORT_RUNNER = "inline"


def row(name="专职甲", code="3601000001", course="心理辅导技能", **extra):
    out = {
        "姓名": name,
        "学校代码": code,
        "培训名称": course,
        "培训机构": "市教育学院",
        "开始日期": "2026-10-10",
        "结束日期": "2026-10-12",
        "学时": "24",
        "培训级别": "市级",
        "培训形式": "线下",
    }
    out.update(extra)
    return out


def run(path, *, actor=None, dry_run=False):
    relative, _size = store_upload([path.read_bytes()], path.name)
    job = create_job(
        actor=actor, kind="training", file=relative, original_name=path.name, dry_run=dry_run
    )
    result = run_job(job)
    job.refresh_from_db()
    return job, result


def report(job):
    return list(csv.reader(io.StringIO(files.read(job.error_report).decode("utf-8-sig"))))


def test_utf8_csv_with_aliases(w, tmp_path):
    headers = ["教师姓名", "单位", "课程名称", "主办单位", "培训日期", "学时", "级别", "形式"]
    rows = [
        dict(
            zip(
                headers,
                [
                    "专职甲",
                    "甲区第一中学",
                    "危机干预",
                    "省教育厅",
                    "2026/9/20",
                    "12.5学时",
                    "省级",
                    "网络研修",
                ],
                strict=True,
            )
        ),
        dict(
            zip(
                headers,
                ["科任甲", "甲区第一中学", "班级心理", "", "2026年10月1日", "2", "校本", "面授"],
                strict=True,
            )
        ),
    ]
    job, result = run(write_csv(tmp_path / "t.csv", rows, headers=headers, encoding="utf-8-sig"))
    assert (result.created, result.rejected) == (2, 0)
    full = TrainingRecord.objects.get(staff=w.full)
    assert (full.hours, full.level, full.mode) == (Decimal("12.5"), "provincial", "online")
    assert full.end_date == datetime.date(2026, 9, 20)
    assert TrainingRecord.objects.get(staff=w.other).level == "school"
    assert job.status == "succeeded"


def test_gbk_csv(w, tmp_path):
    _job, result = run(write_csv(tmp_path / "t.csv", [row()], headers=HEADERS, encoding="gbk"))
    assert result.created == 1
    assert TrainingRecord.objects.get(staff=w.full).provider == "市教育学院"


def test_xlsx(w, tmp_path):
    _job, result = run(
        write_xlsx(tmp_path / "t.xlsx", [row(), row(name="班主任甲", 学时="10")], headers=HEADERS)
    )
    assert result.created == 2
    assert TrainingRecord.objects.get(staff=w.key).hours == Decimal("10.0")


def test_bad_rows_are_reported_while_good_rows_go_in(w, tmp_path):
    rows = [
        row(),  # 2: good
        row(name="无此人"),  # 3: unknown teacher
        row(course="B", 学时="-3"),  # 4: bad hours
        row(course="C", 结束日期="2026-10-01"),  # 5: ends before it starts
        row(course="D", 培训级别="宇宙级"),  # 6: unknown level
        row(),  # 7: same key as row 2
        row(name="乙校老师", code="3601000099"),  # 8: unknown school code
    ]
    job, result = run(write_csv(tmp_path / "t.csv", rows, headers=HEADERS))
    assert (result.created, result.rejected) == (1, 6)
    by_row = {r[0]: r for r in report(job)[1:]}
    assert sorted(by_row, key=int) == ["3", "4", "5", "6", "7", "8"]
    assert by_row["3"][1] == "姓名"
    assert by_row["4"][1] == "学时"
    assert by_row["5"][1] == "结束日期"
    assert "宇宙级" in by_row["6"][2]
    assert by_row["8"][1] == "学校代码"
    assert TrainingRecord.objects.count() == 1


def test_dry_run_changes_nothing(w, tmp_path):
    _job, result = run(write_csv(tmp_path / "t.csv", [row()], headers=HEADERS), dry_run=True)
    assert result.created == 1
    assert not TrainingRecord.objects.exists()


def test_reimport_is_idempotent_and_updates_changes(w, tmp_path):
    path = write_csv(tmp_path / "t.csv", [row(), row(name="班主任甲")], headers=HEADERS)
    run(path)
    _job, again = run(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = write_csv(
        tmp_path / "t2.csv", [row(学时="30"), row(name="班主任甲")], headers=HEADERS
    )
    _job, third = run(changed)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 1)
    assert TrainingRecord.objects.get(staff=w.full).hours == Decimal("30.0")


def test_school_admin_imports_only_their_school(w, tmp_path):
    rows = [row(), row(name="乙校老师", code="3601000002")]
    job, result = run(write_csv(tmp_path / "t.csv", rows, headers=HEADERS), actor=w.school_admin)
    assert (result.created, result.rejected) == (1, 1)
    assert not TrainingRecord.objects.filter(staff=w.teacher_b).exists()
    assert report(job)[1][0] == "3"


def test_same_name_twice_in_a_school_is_refused(w, tmp_path):
    from ..factories import StaffFactory

    StaffFactory(username="full_a2", name="专职甲", org_unit=w.school_a)
    job, result = run(write_csv(tmp_path / "t.csv", [row()], headers=HEADERS))
    assert result.rejected == 1
    assert report(job)[1][1] == "姓名"


def test_upload_page_and_error_report(w, client_for, tmp_path):
    client = client_for(w.school_admin)
    page = client.get(reverse("registries:upload", args=["training"]))
    assert page.status_code == 200
    assert "培训名称" in page.content.decode()
    path = write_csv(tmp_path / "t.csv", [row(), row(name="无此人")], headers=HEADERS)
    response = client.post(
        reverse("registries:upload", args=["training"]),
        {"file": SimpleUploadedFile(path.name, path.read_bytes())},
    )
    assert response.status_code == 302
    job = ImportJob.objects.get(kind="training")
    assert (job.created, job.rejected) == (1, 1)
    errors = client.get(reverse("registries:job-errors", args=["training", job.code]))
    assert "无此人" in errors.content.decode("utf-8-sig")


def test_upload_page_wrong_role_is_403(w, client_for):
    assert (
        client_for(w.psych).get(reverse("registries:upload", args=["training"])).status_code == 403
    )


def test_summary_links_to_the_import(w, client_for):
    body = client_for(w.school_admin).get(reverse("workforce:training-summary")).content.decode()
    assert reverse("registries:upload", args=["training"]) in body


def test_staff_number_decides_between_namesakes(w, tmp_path):
    from ..factories import StaffFactory

    w.full.staff_number = "T001"
    w.full.save(update_fields=["staff_number"])
    twin = StaffFactory(username="full_a2", name="专职甲", org_unit=w.school_a)
    twin.staff_number = "T002"
    twin.save(update_fields=["staff_number"])
    headers = ["工号", *HEADERS]
    rows = [row(工号="T002"), row(工号="T999", course="其他")]
    job, result = run(write_csv(tmp_path / "t.csv", rows, headers=headers))
    assert (result.created, result.rejected) == (1, 1)
    assert TrainingRecord.objects.get().staff == twin
    assert report(job)[1][1] == "工号"


def test_one_chunk_of_new_changed_and_unchanged_rows(w, tmp_path):
    """The set-based writer inserts first and updates only when some staged row was stored: a
    chunk mixing the three kinds counts each once, and the new row is not counted as updated.
    Jobs inside one outer transaction (this test's) each stage only their own rows: the rows a
    previous job staged, never committed, once overwrote these hours with the old ones."""
    run(write_csv(tmp_path / "a.csv", [row(), row(name="班主任甲")], headers=HEADERS))
    mixed = [row(学时="30"), row(name="班主任甲"), row(course="团体辅导")]
    _job, result = run(write_csv(tmp_path / "b.csv", mixed, headers=HEADERS))
    assert (result.created, result.updated, result.unchanged, result.rejected) == (1, 1, 1, 0)
    assert TrainingRecord.objects.get(staff=w.full, course="心理辅导技能").hours == Decimal("30.0")
    assert TrainingRecord.objects.filter(staff=w.full, course="团体辅导").count() == 1
    _job, again = run(write_csv(tmp_path / "c.csv", mixed, headers=HEADERS))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
