"""The guardians import (people/guardian_registry.py) through the framework, with real files."""

from __future__ import annotations

import csv
import datetime
import io
from pathlib import Path

import pytest
from django.urls import reverse

from xinqiao.people.importer import files
from xinqiao.people.models import FamilyCircumstance, Guardian, ImportJob
from xinqiao.people.registry import create_job, run_job, store_upload
from xinqiao.people.services import end_guardianship

from ..conftest import ID_A1, ID_A2, ID_B1
from ..people.roster_files import write_csv, write_xlsx

HEADERS = ["全国学籍号", "学生姓名", "监护人姓名", "与学生关系", "手机号码", "家庭情况"]
A1, A2, B1 = "G" + ID_A1, "G" + ID_A2, "G" + ID_B1


def g_row(number: str, name: str, relation: str, phone: str, family: str = "") -> dict[str, str]:
    return {
        "全国学籍号": number,
        "学生姓名": "",
        "监护人姓名": name,
        "与学生关系": relation,
        "手机号码": phone,
        "家庭情况": family,
    }


def run(path: Path, *, actor=None, dry_run=False):
    relative, _size = store_upload([path.read_bytes()], path.name)
    job = create_job(
        actor=actor, kind="guardians", file=relative, original_name=path.name, dry_run=dry_run
    )
    result = run_job(job)
    job.refresh_from_db()
    return job, result


def report(job) -> list[list[str]]:
    return list(csv.reader(io.StringIO(files.read(job.error_report).decode("utf-8-sig"))))


def test_gbk_csv_adds_guardians_and_circumstances(world, tmp_path):
    rows = [
        g_row(A1, "王爸爸", "父亲", "13900139001", "留守、低保"),
        g_row(A2, "李奶奶", "奶奶", "13900139002"),
    ]
    _job, result = run(
        write_csv(tmp_path / "g.csv", rows, headers=HEADERS, encoding="gbk"),
        actor=world.school_admin,
    )
    assert (result.created, result.updated, result.rejected) == (2, 0, 0)
    father = Guardian.objects.get(student=world.stu_a1, name="王爸爸")
    assert (father.relation, father.phone, father.school) == (
        "father",
        "13900139001",
        world.school_a,
    )
    assert father.end_date is None
    assert Guardian.objects.get(student=world.stu_a2, name="李奶奶").relation == "grandparent"
    world.stu_a1.refresh_from_db()
    assert world.stu_a1.left_behind
    assert world.stu_a1.low_income
    kinds = set(
        FamilyCircumstance.objects.filter(student=world.stu_a1, source="import").values_list(
            "kind", flat=True
        )
    )
    assert kinds == {"left_behind", "low_income"}


def test_utf8_csv_with_english_headers(world, tmp_path):
    headers = ["student number", "guardian name", "relation", "mobile"]
    rows = [{"student number": A1, "guardian name": "王外公", "relation": "外公",
             "mobile": "+86 139 0013 9003"}]  # fmt: skip
    _job, result = run(write_csv(tmp_path / "g.csv", rows, headers=headers, encoding="utf-8-sig"))
    assert result.created == 1
    assert Guardian.objects.get(name="王外公").phone == "13900139003"


def test_xlsx_with_alias_headers(world, tmp_path):
    headers = ["学籍号", "家长姓名", "关系", "家长电话"]
    rows = [{"学籍号": A2, "家长姓名": "李爸爸", "关系": "爸爸", "家长电话": "13900139004"}]
    _job, result = run(write_xlsx(tmp_path / "g.xlsx", rows, headers=headers))
    assert result.created == 1
    assert Guardian.objects.get(student=world.stu_a2, name="李爸爸").relation == "father"


def test_reimport_is_idempotent_and_a_new_mobile_updates(world, tmp_path):
    rows = [
        g_row(A1, "王爸爸", "父亲", "13900139001", "单亲"),
        g_row(A1, "王妈妈", "母亲", "13800138000"),
    ]
    path = write_csv(tmp_path / "g.csv", rows, headers=HEADERS)
    _job, first = run(path)
    assert (first.created, first.updated, first.unchanged) == (1, 0, 1)  # 王妈妈 was there
    _job, again = run(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert (
        FamilyCircumstance.objects.filter(student=world.stu_a1, kind="single_parent").count() == 1
    )
    changed = write_csv(
        tmp_path / "g2.csv", [g_row(A1, "王爸爸", "父亲", "13900139999")], headers=HEADERS
    )
    _job, third = run(changed)
    assert (third.created, third.updated) == (0, 1)
    father = Guardian.objects.get(name="王爸爸")
    assert father.phone == "13900139999"
    assert Guardian.objects.filter(student=world.stu_a1).count() == 2


def test_bad_rows_rejected_with_row_numbers_good_rows_in(world, tmp_path):
    rows = [
        g_row(A1, "王爸爸", "父亲", "13900139001"),
        g_row(A1, "王叔叔", "父亲", "12345"),  # row 3: mobile
        g_row("G123", "某某", "母亲", "13900139005"),  # row 4: number
        g_row(A2, "李某", "邻居", "13900139006"),  # row 5: relation
        g_row(A2, "李某某", "母亲", "13900139007", "富裕"),  # row 6: circumstance
        g_row(A1, "王爸爸", "父亲", "13900139008"),  # row 7: same key as row 2
    ]
    job, result = run(write_csv(tmp_path / "g.csv", rows, headers=HEADERS))
    assert (result.created, result.rejected) == (1, 5)
    lines = report(job)
    assert lines[0][:3] == ["Row", "Column", "Reason"]  # tests run in English
    by_row = {r[0]: r for r in lines[1:]}
    assert set(by_row) == {"3", "4", "5", "6", "7"}
    assert by_row["3"][1] == "手机号码"
    assert by_row["4"][1] == "全国学籍号"
    assert by_row["5"][1] == "与学生关系"
    assert by_row["6"][1] == "家庭情况"
    assert "2" in by_row["7"][2]
    assert "王叔叔" in by_row["3"]  # the original cells follow


def test_error_report_download(world, tmp_path, client_for):
    rows = [g_row(A1, "王叔叔", "父亲", "12345")]
    job, _result = run(write_csv(tmp_path / "g.csv", rows, headers=HEADERS), actor=world.psych)
    url = reverse("registries:job-errors", kwargs={"kind": "guardians", "code": job.code})
    response = client_for(world.psych).get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8-sig")
    assert "手机号码" in text
    assert "12345" in text


def test_dry_run_changes_nothing(world, tmp_path):
    before = (Guardian.objects.count(), FamilyCircumstance.objects.count())
    rows = [g_row(A1, "王爸爸", "父亲", "13900139001", "留守")]
    _job, result = run(write_csv(tmp_path / "g.csv", rows, headers=HEADERS), dry_run=True)
    assert result.created == 1
    assert (Guardian.objects.count(), FamilyCircumstance.objects.count()) == before
    world.stu_a1.refresh_from_db()
    assert not world.stu_a1.left_behind


def test_an_ended_guardianship_is_not_reopened(world, tmp_path):
    end_guardianship(actor=None, guardian=world.guardian_a1, end_date=datetime.date(2026, 1, 1))
    rows = [g_row(A1, "王妈妈", "母亲", "13800138001")]
    job, result = run(write_csv(tmp_path / "g.csv", rows, headers=HEADERS))
    assert (result.created, result.updated, result.rejected) == (0, 0, 1)
    world.guardian_a1.refresh_from_db()
    assert world.guardian_a1.end_date == datetime.date(2026, 1, 1)
    assert world.guardian_a1.phone == "13800138000"
    assert report(job)[1][1] == "监护人姓名"


def test_student_outside_the_uploaders_area_is_a_row_error(world, tmp_path):
    rows = [
        g_row(A1, "王爸爸", "父亲", "13900139001"),
        g_row(A2, "李爸爸", "父亲", "13900139002"),  # another class: not the head teacher's
        g_row(B1, "赵爸爸", "父亲", "13900139003"),  # another school
    ]
    job, result = run(
        write_csv(tmp_path / "g.csv", rows, headers=HEADERS), actor=world.head_teacher
    )
    assert (result.created, result.rejected) == (1, 2)
    assert {r[0] for r in report(job)[1:]} == {"3", "4"}
    assert not Guardian.objects.filter(name__in=["李爸爸", "赵爸爸"]).exists()
    assert job.org_unit == world.class_a1


def test_student_name_must_match_when_given(world, tmp_path):
    row = g_row(A1, "王爸爸", "父亲", "13900139001") | {"学生姓名": "别人"}
    _job, result = run(write_csv(tmp_path / "g.csv", [row], headers=HEADERS))
    assert result.rejected == 1


def test_missing_required_column_fails_as_a_whole(world, tmp_path):
    from xinqiao.core.tabular.reader import BadFileError

    rows = [g_row(A1, "王爸爸", "父亲", "13900139001")]
    with pytest.raises(BadFileError, match="与学生关系"):
        run(write_csv(tmp_path / "g.csv", rows, headers=["全国学籍号", "监护人姓名", "手机号码"]))
    assert not Guardian.objects.filter(name="王爸爸").exists()


# --- pages ------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["school_admin", "psych", "head_teacher"])
def test_upload_page_for_family_managers(world, client_for, who):
    response = client_for(getattr(world, who)).get(reverse("registries:upload", args=["guardians"]))
    assert response.status_code == 200
    assert "全国学籍号" in response.content.decode() or "national" in response.content.decode()


@pytest.mark.parametrize("who", ["mentor", "district_admin", "auditor", "parent"])
def test_upload_page_wrong_role_403(world, client_for, who):
    response = client_for(getattr(world, who)).get(reverse("registries:upload", args=["guardians"]))
    assert response.status_code == 403


def test_upload_through_the_page_and_job_of_another_school_404(world, client_for, tmp_path):
    path = write_csv(
        tmp_path / "g.csv", [g_row(A1, "王爸爸", "父亲", "13900139001")], headers=HEADERS
    )
    client = client_for(world.school_admin)
    with path.open("rb") as handle:
        response = client.post(
            reverse("registries:upload", args=["guardians"]), {"file": handle, "dry_run": "on"}
        )
    assert response.status_code == 302
    job = ImportJob.objects.get(kind="guardians")
    assert job.dry_run
    assert job.org_unit == world.school_a
    other = client_for(world.psych_b)
    for name in ("registries:job-detail", "registries:job-errors"):
        url = reverse(name, kwargs={"kind": "guardians", "code": job.code})
        assert other.get(url).status_code == 404
        assert client_for(world.mentor).get(url).status_code == 403


def test_student_list_links_to_the_import(world, client_for):
    url = reverse("people:student-list")
    assert "guardian-import-link" in client_for(world.psych).get(url).content.decode()
    assert "guardian-import-link" not in client_for(world.district_admin).get(url).content.decode()


def test_error_report_in_chinese_for_a_chinese_job(world, tmp_path):
    path = write_csv(
        tmp_path / "g.csv", [g_row(A1, "王某", "邻居", "13900139001")], headers=HEADERS
    )
    relative, _size = store_upload([path.read_bytes()], path.name)
    job = create_job(
        actor=world.psych, kind="guardians", file=relative, original_name=path.name,
        language="zh-hans",
    )  # fmt: skip
    run_job(job)
    job.refresh_from_db()
    lines = report(job)
    assert lines[0][:3] == ["行号", "列", "原因"]
    assert lines[1][:2] == ["2", "与学生关系"]
    assert "无法识别" in lines[1][2] or "邻居" in lines[1][2]
