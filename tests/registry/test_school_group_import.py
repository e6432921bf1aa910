"""The school groups import (people/group_registry.py) with real files."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from xinqiao.access.roles import Role
from xinqiao.audit.models import AuditEvent
from xinqiao.people.models import Position, SchoolGroupMember
from xinqiao.people.staffing.services import create_staff_record

from ..conftest import _user
from ..people.roster_files import write_csv, write_xlsx
from .helpers import rejected_rows, report, run

KIND = "school_group_members"
HEADERS = ["学校标识码", "小组", "工号", "姓名", "组内职务", "分工", "起始日期", "结束日期"]
D = datetime.date


def g_row(group: str, name: str, role: str = "成员", **extra: str) -> dict[str, str]:
    row = {"学校标识码": "3601000001", "小组": group, "姓名": name, "组内职务": role,
           "起始日期": "2026-09-01"}  # fmt: skip
    row.update(extra)
    return row


@pytest.fixture
def staff(world):
    w = world
    w.principal = create_staff_record(
        actor=None, name="周校长", org_unit=w.school_a, staff_number="P01",
        positions=[(Position.PRINCIPAL, w.school_a, None)],
    )  # fmt: skip
    w.t1 = create_staff_record(actor=None, name="张老师", org_unit=w.school_a, staff_number="A01")
    w.t2 = create_staff_record(actor=None, name="张老师", org_unit=w.school_a, staff_number="A02")
    w.tb = create_staff_record(actor=None, name="赵老师", org_unit=w.school_b, staff_number="B01")
    return w


def members(group: str) -> set[tuple[str, str, str]]:
    return {
        (m.staff.name + m.staff.staff_number, m.role, m.duty)
        for m in SchoolGroupMember.objects.filter(group__kind=group, end_date__isnull=True)
    }


def test_gbk_csv_fills_the_three_groups(staff, tmp_path):
    rows = [
        g_row("心理健康教育领导小组", "周校长", "组长"),
        g_row("领导小组", "甲校德育主任", "副组长"),
        g_row("工作小组", "甲校心理老师", "组长", **{"分工": "日常辅导"}),
        g_row("危机干预小组", "张老师", **{"工号": "A01"}),
    ]
    path = write_csv(tmp_path / "g.csv", rows, headers=HEADERS, encoding="gbk")
    job, result = run(KIND, path, actor=staff.school_admin)
    assert (result.created, result.rejected) == (4, 0)
    assert report(job) == []  # the leadership group is led by the principal: no warning
    assert members("leadership") == {("周校长P01", "leader", ""), ("甲校德育主任", "deputy", "")}
    assert members("work") == {("甲校心理老师", "leader", "日常辅导")}
    assert members("crisis") == {("张老师A01", "member", "")}
    started = SchoolGroupMember.objects.get(staff=staff.principal).start_date
    assert started == D(2026, 9, 1)
    assert AuditEvent.objects.filter(action="people.school_group.member_added").count() == 4


def test_xlsx_with_english_headers(staff, tmp_path):
    headers = ["unit", "group", "staff number", "name", "role"]
    rows = [{"unit": "甲区第一中学", "group": "Crisis-intervention group", "staff number": "A02",
             "name": "张老师", "role": "Group leader"}]  # fmt: skip
    _job, result = run(KIND, write_xlsx(tmp_path / "g.xlsx", rows, headers=headers))
    assert result.created == 1
    assert members("crisis") == {("张老师A02", "leader", "")}


def test_reimport_is_idempotent_a_new_role_keeps_history_an_end_ends(staff, tmp_path):
    rows = [g_row("工作小组", "周校长", "组长"), g_row("工作小组", "张老师", **{"工号": "A01"})]
    path = write_csv(tmp_path / "g.csv", rows, headers=HEADERS)
    run(KIND, path)
    _job, again = run(KIND, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    rows[1].update({"组内职务": "副组长", "起始日期": "2027-02-20"})
    _job, third = run(KIND, write_csv(tmp_path / "g2.csv", rows, headers=HEADERS))
    assert (third.updated, third.unchanged) == (1, 1)
    history = list(
        SchoolGroupMember.objects.filter(staff=staff.t1)
        .order_by("start_date")
        .values_list("role", "start_date", "end_date")
    )
    assert history == [("member", D(2026, 9, 1), D(2027, 2, 19)), ("deputy", D(2027, 2, 20), None)]
    rows[1]["结束日期"] = "2027-06-30"
    path4 = write_csv(tmp_path / "g3.csv", rows, headers=HEADERS)
    _job, fourth = run(KIND, path4)
    assert fourth.updated == 1
    assert not SchoolGroupMember.objects.filter(staff=staff.t1, end_date__isnull=True).exists()
    _job, fifth = run(KIND, path4)
    assert fifth.unchanged == 2
    del rows[1]["结束日期"]  # an ended membership is not reopened
    job, sixth = run(KIND, write_csv(tmp_path / "g4.csv", rows, headers=HEADERS))
    assert sixth.rejected == 1
    assert rejected_rows(job)["3"][1] == "姓名"
    assert SchoolGroupMember.objects.filter(staff=staff.t1).count() == 2


def test_a_leadership_group_not_led_by_the_principal_is_imported_with_a_warning(staff, tmp_path):
    rows = [g_row("领导小组", "甲校德育主任", "组长"), g_row("工作小组", "张老师", "组长",
            **{"工号": "A01"})]  # fmt: skip
    job, result = run(KIND, write_csv(tmp_path / "g.csv", rows, headers=HEADERS))
    assert (result.created, result.rejected) == (2, 0)
    lines = rejected_rows(job)
    assert set(lines) == {"2"}
    assert lines["2"][1] == "组内职务"
    assert lines["2"][2].startswith("Warning:")
    assert members("leadership") == {("甲校德育主任", "leader", "")}


def test_bad_rows_rejected_with_row_numbers_good_rows_in(staff, tmp_path):
    rows = [
        g_row("领导小组", "周校长", "组长"),
        g_row("领导小组", "张老师"),  # row 3: two 张老师, no 工号
        g_row("领导小组", "无此人"),  # row 4: no such staff member
        g_row("兴趣小组", "甲校心理老师"),  # row 5: unknown group
        g_row("领导小组", "甲校德育主任", "组长"),  # row 6: a second leader
        g_row("领导小组", "周校长", "副组长"),  # row 7: same person and group as row 2
        g_row("工作小组", "张老师", **{"工号": "A09"}),  # row 8: no such 工号
    ]
    job, result = run(KIND, write_csv(tmp_path / "g.csv", rows, headers=HEADERS))
    assert (result.created, result.rejected) == (1, 6)
    by_row = rejected_rows(job)
    assert set(by_row) == {"3", "4", "5", "6", "7", "8"}
    assert by_row["3"][1] == "姓名"
    assert by_row["4"][1] == "姓名"
    assert by_row["5"][1] == "小组"
    assert by_row["6"][1] == "组内职务"
    assert "2" in by_row["7"][2]
    assert by_row["8"][1] == "工号"
    assert report(job)[0][:3] == ["Row", "Column", "Reason"]


def test_dry_run_changes_nothing(staff, tmp_path):
    path = write_csv(tmp_path / "g.csv", [g_row("领导小组", "周校长", "组长")], headers=HEADERS)
    _job, result = run(KIND, path, dry_run=True)
    assert result.created == 1
    assert not SchoolGroupMember.objects.exists()


def test_schools_and_staff_outside_the_uploaders_school_are_rejected(staff, tmp_path):
    rows = [
        g_row("领导小组", "周校长", "组长"),
        g_row("领导小组", "赵老师", **{"学校标识码": "3601000002"}),  # row 3: another school
        g_row("工作小组", "赵老师"),  # row 4: 乙校's teacher in 甲校's group
    ]
    job, result = run(KIND, write_csv(tmp_path / "g.csv", rows, headers=HEADERS),
                      actor=staff.school_admin)  # fmt: skip
    assert (result.created, result.rejected) == (1, 2)
    assert set(rejected_rows(job)) == {"3", "4"}
    assert "3601000002" in rejected_rows(job)["3"][2]


def test_upload_page_link_and_refusals(world, client_for, tmp_path):
    admin = client_for(world.school_admin)
    assert admin.get(reverse("registries:upload", args=[KIND])).status_code == 200
    page = admin.get(reverse("people:school-groups", kwargs={"code": world.school_a.code}))
    assert "group-import-link" in page.content.decode()
    for who in ("psych", "head_teacher", "district_admin", "auditor"):
        response = client_for(getattr(world, who)).get(reverse("registries:upload", args=[KIND]))
        assert response.status_code == 403, who
    path = write_csv(tmp_path / "g.csv", [g_row("领导小组", "甲校心理老师")], headers=HEADERS)
    job, _result = run(KIND, path, actor=world.school_admin)
    other = _user("school_admin_b", "乙校德育主任", world.school_b, Role.SCHOOL_ADMIN)
    url = reverse("registries:job-detail", kwargs={"kind": KIND, "code": job.code})
    assert admin.get(url).status_code == 200
    assert client_for(other).get(url).status_code == 404
