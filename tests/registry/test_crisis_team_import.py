"""The crisis-team members import (emergency/importer.py) through the framework, with real files."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from xinqiao.audit.models import AuditEvent
from xinqiao.emergency.models import TeamMember
from xinqiao.people.staffing.services import create_staff_record

from ..people.roster_files import write_csv, write_xlsx
from .helpers import rejected_rows, report, run

KIND = "crisis_team_members"
HEADERS = ["所属单位", "工作队名称", "工号", "姓名", "成员单位", "队内职务", "值班电话",
           "起始日期", "结束日期"]  # fmt: skip
D = datetime.date


def m_row(name: str, role: str = "队员", **extra: str) -> dict[str, str]:
    row = {"所属单位": "甲区", "姓名": name, "队内职务": role, "起始日期": "2026-09-01"}
    row.update(extra)
    return row


@pytest.fixture
def teachers(em):
    w = em
    w.teacher = create_staff_record(
        actor=None, name="张老师", org_unit=w.school_a, staff_number="A001"
    )
    w.namesake = create_staff_record(
        actor=None, name="张老师", org_unit=w.station_a, staff_number="S001"
    )
    w.teacher_b = create_staff_record(
        actor=None, name="赵老师", org_unit=w.school_b, staff_number="B001"
    )
    return w


def test_gbk_csv_adds_staff_and_outside_members_with_sealed_phones(teachers, tmp_path):
    w = teachers
    rows = [
        m_row("张老师", "组长", **{"工号": "A001", "值班电话": "13800138001"}),
        m_row("张老师", "危机干预员", **{"成员单位": "甲区辅导站"}),  # the namesake, by unit
        m_row("陈社工", "联络员", **{"成员单位": "市社工协会", "值班电话": "0791-88112233"}),
        m_row("周医生", "精神科医生", **{"所属单位": "示例市", "成员单位": "市精神卫生中心"}),
    ]
    path = write_csv(tmp_path / "t.csv", rows, headers=HEADERS, encoding="gbk")
    _job, result = run(KIND, path, actor=w.city_admin)
    assert (result.created, result.rejected) == (4, 0)
    leader = TeamMember.objects.get(team=w.team_a, staff=w.teacher)
    assert (leader.role, leader.phone, leader.started_on) == (
        "leader",
        "13800138001",
        D(2026, 9, 1),
    )
    assert TeamMember.objects.get(team=w.team_a, staff=w.namesake).role == "counsellor"
    social = TeamMember.objects.get(team=w.team_a, name="陈社工")
    assert (social.staff, social.organisation, social.phone) == (
        None,
        "市社工协会",
        "0791-88112233",
    )
    assert TeamMember.objects.filter(team=w.city_team, name="周医生").exists()
    # The phone is sealed at rest: the column holds no plaintext number.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM emergency_teammember WHERE id = %s", [leader.pk])
        assert "13800138001" not in cursor.fetchone()[0]
    assert AuditEvent.objects.filter(action="emergency.member.added").count() == 5  # 1 + 4


def test_xlsx_with_english_headers(teachers, tmp_path):
    w = teachers
    headers = ["team unit", "staff number", "name", "role", "start date"]
    rows = [{"team unit": "甲区", "staff number": "A001", "name": "张老师", "role": "Deputy leader",
             "start date": "2026/9/1"}]  # fmt: skip
    _job, result = run(KIND, write_xlsx(tmp_path / "t.xlsx", rows, headers=headers))
    assert result.created == 1
    assert TeamMember.objects.get(staff=w.teacher).role == "deputy"


def test_reimport_is_idempotent_a_change_corrects_and_an_end_date_ends(teachers, tmp_path):
    w = teachers
    rows = [m_row("张老师", **{"工号": "A001", "值班电话": "13800138001"})]
    path = write_csv(tmp_path / "t.csv", rows, headers=HEADERS)
    run(KIND, path)
    _job, again = run(KIND, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    rows[0]["值班电话"] = "13800138002"
    _job, third = run(KIND, write_csv(tmp_path / "t2.csv", rows, headers=HEADERS))
    assert third.updated == 1
    member = TeamMember.objects.get(staff=w.teacher)
    assert member.phone == "13800138002"
    assert AuditEvent.objects.filter(action="emergency.member.updated").count() == 1
    rows[0]["结束日期"] = "2026-12-31"
    path4 = write_csv(tmp_path / "t3.csv", rows, headers=HEADERS)
    _job, fourth = run(KIND, path4)
    assert fourth.updated == 1
    member.refresh_from_db()
    assert member.ended_on == D(2026, 12, 31)
    _job, fifth = run(KIND, path4)
    assert fifth.unchanged == 1
    # An ended membership is never reopened nor its dates changed.
    del rows[0]["结束日期"]
    job, sixth = run(KIND, write_csv(tmp_path / "t4.csv", rows, headers=HEADERS))
    assert sixth.rejected == 1
    assert rejected_rows(job)["2"][1] == "结束日期"
    member.refresh_from_db()
    assert member.ended_on == D(2026, 12, 31)
    assert TeamMember.objects.filter(staff=w.teacher).count() == 1


def test_a_new_period_ends_the_current_one_and_keeps_it(teachers, tmp_path):
    w = teachers
    run(KIND, write_csv(tmp_path / "t.csv", [m_row("张老师", **{"工号": "A001"})], headers=HEADERS))
    later = m_row("张老师", "副队长", **{"工号": "A001", "起始日期": "2027-03-01"})
    _job, result = run(KIND, write_csv(tmp_path / "t2.csv", [later], headers=HEADERS))
    assert result.created == 1
    periods = list(
        TeamMember.objects.filter(staff=w.teacher)
        .order_by("started_on")
        .values_list("role", "started_on", "ended_on")
    )
    assert periods == [
        ("member", D(2026, 9, 1), D(2027, 2, 28)),
        ("deputy", D(2027, 3, 1), None),
    ]


def test_bad_rows_rejected_with_row_numbers_good_rows_in(teachers, tmp_path):
    rows = [
        m_row("张老师", **{"工号": "A001"}),
        m_row("张老师"),  # row 3: two staff of this name in 甲区, no 工号
        m_row("李老师", **{"工号": "X999"}),  # row 4: no such staff number
        m_row("王某", "厨师"),  # row 5: unknown role
        m_row("王某某", **{"所属单位": "甲区辅导站"}),  # row 6: a station has no team
        m_row("孙某", **{"起始日期": "2026-09-01", "结束日期": "2026-08-01"}),  # row 7: dates
        m_row("吴某", **{"值班电话": "电话"}),  # row 8: phone
        m_row("张老师", "组长", **{"工号": "A001"}),  # row 9: same key as row 2
    ]
    job, result = run(KIND, write_csv(tmp_path / "t.csv", rows, headers=HEADERS))
    assert (result.created, result.rejected) == (1, 7)
    by_row = rejected_rows(job)
    assert set(by_row) == {"3", "4", "5", "6", "7", "8", "9"}
    assert by_row["3"][1] == "姓名"
    assert by_row["4"][1] == "工号"
    assert by_row["5"][1] == "队内职务"
    assert by_row["6"][1] == "队伍所属单位"
    assert by_row["7"][1] == "结束日期"
    assert by_row["8"][1] == "值班电话"
    assert report(job)[0][:3] == ["Row", "Column", "Reason"]


def test_dry_run_changes_nothing(teachers, tmp_path):
    before = TeamMember.objects.count()
    path = write_csv(tmp_path / "t.csv", [m_row("张老师", **{"工号": "A001"})], headers=HEADERS)
    _job, result = run(KIND, path, dry_run=True)
    assert result.created == 1
    assert TeamMember.objects.count() == before


def test_teams_and_staff_outside_the_uploaders_scope_are_rejected(teachers, tmp_path):
    w = teachers
    rows = [
        m_row("张老师", **{"工号": "A001"}),
        m_row("赵老师", **{"所属单位": "乙区", "工号": "B001"}),  # row 3: another district's team
        m_row("周医生", **{"所属单位": "示例市"}),  # row 4: the city's team
        m_row("赵老师", **{"工号": "B001"}),  # row 5: 乙区's teacher on 甲区's team
    ]
    job, result = run(KIND, write_csv(tmp_path / "t.csv", rows, headers=HEADERS),
                      actor=w.district_admin)  # fmt: skip
    assert (result.created, result.rejected) == (1, 3)
    assert set(rejected_rows(job)) == {"3", "4", "5"}
    assert not TeamMember.objects.filter(team__in=[w.team_b, w.city_team]).exists()
    # A school admin keeps no team: every row is out of scope.
    _job, school = run(KIND, write_csv(tmp_path / "t2.csv", rows[:1], headers=HEADERS),
                       actor=w.school_admin)  # fmt: skip
    assert (school.created, school.rejected) == (0, 1)


# --- pages ------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["district_admin", "city_admin"])
def test_upload_page_and_link_for_team_keepers(em, client_for, who):
    client = client_for(getattr(em, who))
    assert client.get(reverse("registries:upload", args=[KIND])).status_code == 200
    assert "team-import-link" in client.get(reverse("emergency:home")).content.decode()


@pytest.mark.parametrize("who", ["psych", "station_counsellor", "head_teacher", "auditor"])
def test_upload_page_wrong_role_403(em, client_for, who):
    response = client_for(getattr(em, who)).get(reverse("registries:upload", args=[KIND]))
    assert response.status_code == 403


def test_no_link_for_a_school_and_another_districts_job_is_404(em, client_for, tmp_path):
    assert "team-import-link" not in (
        client_for(em.school_admin).get(reverse("emergency:home")).content.decode()
    )
    path = write_csv(tmp_path / "t.csv", [m_row("外部人员")], headers=HEADERS)
    job, _result = run(KIND, path, actor=em.district_admin)
    url = reverse("registries:job-detail", kwargs={"kind": KIND, "code": job.code})
    assert client_for(em.district_admin).get(url).status_code == 200
    assert client_for(em.district_admin_b).get(url).status_code == 404
