"""The expert pool import (workforce/registry_imports.py) with real files."""

from __future__ import annotations

import pytest
from django.urls import reverse

from xinqiao.audit.models import AuditEvent
from xinqiao.workforce.models import Expert

from ..people.roster_files import write_csv, write_xlsx
from .helpers import rejected_rows, report, run

KIND = "experts"
HEADERS = ["所属单位", "姓名", "工作单位", "擅长领域", "可用状态"]


def e_row(name: str, affiliation: str = "", **extra: str) -> dict[str, str]:
    row = {"所属单位": "甲区", "姓名": name, "工作单位": affiliation, "擅长领域": "危机干预",
           "可用状态": "可用"}  # fmt: skip
    row.update(extra)
    return row


def test_gbk_csv_fills_the_pools_of_city_and_district(world, tmp_path):
    rows = [
        e_row("陈教授", "江西师范大学", **{"擅长领域": "青少年抑郁、家庭治疗"}),
        e_row("刘主任", "市精神卫生中心", **{"所属单位": "示例市", "可用状态": "部分时间"}),
    ]
    path = write_csv(tmp_path / "e.csv", rows, headers=HEADERS, encoding="gbk")
    _job, result = run(KIND, path, actor=world.city_admin)
    assert (result.created, result.rejected) == (2, 0)
    chen = Expert.objects.get(name="陈教授")
    assert (chen.owner, chen.affiliation, chen.expertise, chen.availability) == (
        world.district_a,
        "江西师范大学",
        "青少年抑郁、家庭治疗",
        "available",
    )
    assert Expert.objects.get(name="刘主任").owner == world.city
    assert Expert.objects.get(name="刘主任").availability == "limited"
    created = AuditEvent.objects.filter(action="workforce.expert.created")
    assert created.filter(actor=world.city_admin).count() == 2  # not the world's pool expert


def test_xlsx_with_english_headers(world, tmp_path):
    headers = ["pool", "name", "affiliation", "expertise", "availability"]
    rows = [{"pool": "甲区", "name": "Dr Li", "affiliation": "Hospital", "expertise": "CBT",
             "availability": "Unavailable"}]  # fmt: skip
    _job, result = run(KIND, write_xlsx(tmp_path / "e.xlsx", rows, headers=headers))
    assert result.created == 1
    assert Expert.objects.get(name="Dr Li").availability == "unavailable"


def test_reimport_is_idempotent_namesakes_and_a_change_updates(world, tmp_path):
    rows = [e_row("陈教授", "江西师范大学"), e_row("陈教授", "南昌大学")]  # two of one name
    path = write_csv(tmp_path / "e.csv", rows, headers=HEADERS)
    run(KIND, path)
    _job, again = run(KIND, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Expert.objects.filter(name="陈教授").count() == 2
    changed = [e_row("陈教授", "南昌大学", **{"可用状态": "暂不可用"})]
    _job, third = run(KIND, write_csv(tmp_path / "e2.csv", changed, headers=HEADERS))
    assert (third.created, third.updated) == (0, 1)
    assert Expert.objects.get(affiliation="南昌大学").availability == "unavailable"
    assert Expert.objects.get(affiliation="江西师范大学").availability == "available"
    assert AuditEvent.objects.filter(action="workforce.expert.updated").count() == 1


def test_one_expert_whose_affiliation_changed_stays_the_same(world, tmp_path):
    run(KIND, write_csv(tmp_path / "e.csv", [e_row("刘医生", "市三医院")], headers=HEADERS))
    _job, result = run(
        KIND, write_csv(tmp_path / "e2.csv", [e_row("刘医生", "市精神卫生中心")], headers=HEADERS)
    )
    assert (result.created, result.updated) == (0, 1)
    assert Expert.objects.get(name="刘医生").affiliation == "市精神卫生中心"


def test_bad_rows_rejected_with_row_numbers_good_rows_in(world, tmp_path):
    rows = [
        e_row("陈教授", "江西师范大学"),
        e_row("王某", **{"可用状态": "也许"}),  # row 3: availability
        e_row("", "某大学"),  # row 4: name required
        e_row("孙某", **{"所属单位": "甲区第一中学"}),  # row 5: a school keeps no pool
        e_row("陈教授", "江西师范大学", **{"擅长领域": "别的"}),  # row 6: same as row 2
    ]
    job, result = run(KIND, write_csv(tmp_path / "e.csv", rows, headers=HEADERS))
    assert (result.created, result.rejected) == (1, 4)
    by_row = rejected_rows(job)
    assert set(by_row) == {"3", "4", "5", "6"}
    assert by_row["3"][1] == "可用状态"
    assert by_row["4"][1] == "姓名"
    assert by_row["5"][1] == "专家库所属单位"
    assert report(job)[0][:3] == ["Row", "Column", "Reason"]


def test_a_pool_name_several_experts_share_needs_the_affiliation(world, tmp_path):
    rows = [e_row("陈教授", "江西师范大学"), e_row("陈教授", "南昌大学")]
    run(KIND, write_csv(tmp_path / "e.csv", rows, headers=HEADERS))
    job, result = run(KIND, write_csv(tmp_path / "e2.csv", [e_row("陈教授")], headers=HEADERS))
    assert result.rejected == 1
    assert rejected_rows(job)["2"][1] == "工作单位"


def test_dry_run_changes_nothing(world, tmp_path):
    path = write_csv(tmp_path / "e.csv", [e_row("陈教授")], headers=HEADERS)
    _job, result = run(KIND, path, dry_run=True)
    assert result.created == 1
    assert list(Expert.objects.all()) == [world.pool_expert]  # the world's, nothing imported


def test_pools_outside_the_uploaders_scope_are_rejected(world, tmp_path):
    rows = [
        e_row("陈教授"),
        e_row("刘主任", **{"所属单位": "示例市"}),
        e_row("赵某", **{"所属单位": "乙区"}),
    ]
    job, result = run(KIND, write_csv(tmp_path / "e.csv", rows, headers=HEADERS),
                      actor=world.district_admin)  # fmt: skip
    assert (result.created, result.rejected) == (1, 2)
    assert set(rejected_rows(job)) == {"3", "4"}
    imported = Expert.objects.exclude(pk=world.pool_expert.pk)  # the world's city expert
    assert list(imported.values_list("owner", flat=True)) == [world.district_a.pk]


@pytest.mark.parametrize("who", ["district_admin", "city_admin"])
def test_upload_page_and_link(world, client_for, who):
    client = client_for(getattr(world, who))
    assert client.get(reverse("registries:upload", args=[KIND])).status_code == 200
    assert "expert-import-link" in client.get(reverse("workforce:expert-list")).content.decode()


@pytest.mark.parametrize("who", ["school_admin", "psych", "station_counsellor", "expert"])
def test_upload_page_wrong_role_403(world, client_for, who):
    response = client_for(getattr(world, who)).get(reverse("registries:upload", args=[KIND]))
    assert response.status_code == 403
