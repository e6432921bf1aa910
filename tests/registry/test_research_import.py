"""The research activities import (workforce/registry_imports.py) with real files."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from xinqiao.audit.models import AuditEvent
from xinqiao.people.staffing.services import create_staff_record
from xinqiao.workforce.models import ResearchActivity

from ..people.roster_files import write_csv, write_xlsx
from .helpers import rejected_rows, report, run

KIND = "research_activities"
HEADERS = ["区县", "活动日期", "活动主题", "主持人", "参加人员", "备注"]


def a_row(date: str, theme: str, people: str = "", **extra: str) -> dict[str, str]:
    row = {"区县": "甲区", "活动日期": date, "活动主题": theme, "参加人员": people}
    row.update(extra)
    return row


@pytest.fixture
def staff(world):
    w = world
    w.t1 = create_staff_record(actor=None, name="张老师", org_unit=w.school_a, staff_number="A001")
    w.t2 = create_staff_record(actor=None, name="李老师", org_unit=w.station_a)
    w.t3 = create_staff_record(actor=None, name="王老师", org_unit=w.school_a)
    w.t3b = create_staff_record(actor=None, name="王老师", org_unit=w.station_a, staff_number="S9")
    w.tb = create_staff_record(actor=None, name="赵老师", org_unit=w.school_b)
    return w


def participants(activity: ResearchActivity) -> set[str]:
    return {s.name + (s.staff_number and f"#{s.staff_number}") for s in activity.participants.all()}


def test_gbk_csv_records_activities_with_participants(staff, tmp_path):
    rows = [
        a_row("2026-09-15", "学生心理危机识别", "A001、李老师；S9", **{"主持人": "区教研员"}),
        a_row("2026年10月20日", "团体辅导课例研讨"),
    ]
    path = write_csv(tmp_path / "a.csv", rows, headers=HEADERS, encoding="gbk")
    _job, result = run(KIND, path, actor=staff.district_admin)
    assert (result.created, result.rejected) == (2, 0)
    first = ResearchActivity.objects.get(theme="学生心理危机识别")
    assert (first.district, first.date, first.organiser) == (
        staff.district_a,
        datetime.date(2026, 9, 15),
        "区教研员",
    )
    assert participants(first) == {"张老师#A001", "李老师", "王老师#S9"}
    assert ResearchActivity.objects.get(theme="团体辅导课例研讨").date == datetime.date(
        2026, 10, 20
    )
    assert AuditEvent.objects.filter(action="workforce.research_activity.created").count() == 2


def test_xlsx_with_english_headers(staff, tmp_path):
    headers = ["district", "date", "theme", "participants"]
    rows = [
        {"district": "甲区", "date": "2026-11-03", "theme": "Sand tray", "participants": "张老师"}
    ]
    _job, result = run(KIND, write_xlsx(tmp_path / "a.xlsx", rows, headers=headers))
    assert result.created == 1
    assert participants(ResearchActivity.objects.get()) == {"张老师#A001"}


def test_reimport_is_idempotent_and_a_change_updates(staff, tmp_path):
    rows = [a_row("2026-09-15", "危机识别", "张老师、李老师")]
    path = write_csv(tmp_path / "a.csv", rows, headers=HEADERS)
    run(KIND, path)
    _job, again = run(KIND, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    rows[0]["参加人员"] = "张老师"
    rows[0]["备注"] = "线上"
    _job, third = run(KIND, write_csv(tmp_path / "a2.csv", rows, headers=HEADERS))
    assert (third.created, third.updated) == (0, 1)
    activity = ResearchActivity.objects.get()
    assert (participants(activity), activity.notes) == ({"张老师#A001"}, "线上")
    assert AuditEvent.objects.filter(action="workforce.research_activity.updated").count() == 1


def test_bad_rows_rejected_with_row_numbers_good_rows_in(staff, tmp_path):
    rows = [
        a_row("2026-09-15", "危机识别", "张老师"),
        a_row("2026-09-16", "主题二", "王老师"),  # row 3: two of this name, no 工号
        a_row("2026-09-17", "主题三", "张老师、无此人"),  # row 4: unknown participant
        a_row("2026-13-01", "主题四"),  # row 5: not a date
        a_row("2026-09-18", ""),  # row 6: theme required
        a_row("2026-09-15", "危机识别", "李老师"),  # row 7: same key as row 2
        a_row("2026-09-19", "主题五", **{"区县": "甲区辅导站"}),  # row 8: not a district
    ]
    job, result = run(KIND, write_csv(tmp_path / "a.csv", rows, headers=HEADERS))
    assert (result.created, result.rejected) == (1, 6)
    by_row = rejected_rows(job)
    assert set(by_row) == {"3", "4", "5", "6", "7", "8"}
    assert by_row["3"][1] == "参加人员"
    assert by_row["4"][1] == "参加人员"
    assert "无此人" in by_row["4"][2]
    assert by_row["5"][1] == "活动日期"
    assert by_row["6"][1] == "活动主题"
    assert "2" in by_row["7"][2]
    assert by_row["8"][1] == "区县"
    assert report(job)[0][:3] == ["Row", "Column", "Reason"]


def test_dry_run_changes_nothing(staff, tmp_path):
    path = write_csv(tmp_path / "a.csv", [a_row("2026-09-15", "危机识别", "张老师")],
                     headers=HEADERS)  # fmt: skip
    _job, result = run(KIND, path, dry_run=True)
    assert result.created == 1
    assert not ResearchActivity.objects.exists()


def test_districts_and_staff_outside_the_uploaders_scope_are_rejected(staff, tmp_path):
    rows = [
        a_row("2026-09-15", "危机识别", "张老师"),
        a_row("2026-09-15", "乙区活动", **{"区县": "乙区"}),  # row 3: another district
        a_row("2026-09-16", "跨区", "赵老师"),  # row 4: 乙区's teacher in 甲区's activity
    ]
    path = write_csv(tmp_path / "a.csv", rows, headers=HEADERS)
    job, result = run(KIND, path, actor=staff.district_admin)
    assert (result.created, result.rejected) == (1, 2)
    assert set(rejected_rows(job)) == {"3", "4"}
    _job, city = run(KIND, path, actor=staff.city_admin)
    assert (city.created, city.unchanged, city.rejected) == (1, 1, 1)  # 赵老师 is not in 甲区


@pytest.mark.parametrize("who", ["district_admin", "city_admin"])
def test_upload_page_and_link(world, client_for, who):
    client = client_for(getattr(world, who))
    assert client.get(reverse("registries:upload", args=[KIND])).status_code == 200
    page = client.get(reverse("workforce:research-indicator")).content.decode()
    assert "research-import-link" in page


@pytest.mark.parametrize("who", ["school_admin", "psych", "station_counsellor", "auditor"])
def test_upload_page_wrong_role_403(world, client_for, who):
    response = client_for(getattr(world, who)).get(reverse("registries:upload", args=[KIND]))
    assert response.status_code == 403


def test_another_districts_job_is_404(world, client_for, tmp_path):
    from xinqiao.access.roles import Role

    from ..conftest import _user

    other = _user("district_admin_b", "乙区管理员", world.district_b, Role.DISTRICT_ADMIN)
    path = write_csv(tmp_path / "a.csv", [a_row("2026-09-15", "危机识别")], headers=HEADERS)
    job, _result = run(KIND, path, actor=world.district_admin)
    url = reverse("registries:job-detail", kwargs={"kind": KIND, "code": job.code})
    assert client_for(world.district_admin).get(url).status_code == 200
    assert client_for(other).get(url).status_code == 404
