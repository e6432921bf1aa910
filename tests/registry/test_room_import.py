"""The counselling rooms import (facilities/importer.py) through the framework, with real files."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from xinqiao.audit.models import AuditEvent
from xinqiao.facilities.models import CounsellingRoom, RoomArea
from xinqiao.facilities.services import set_status

from ..people.roster_files import write_csv, write_xlsx
from .helpers import rejected_rows, report, run

HEADERS = [
    "学校标识码", "单位名称", "辅导室位置", "面积（平方米）", "功能室", "设备", "开放时间", "状态",
]  # fmt: skip


def room_row(code: str = "", name: str = "", **extra: str) -> dict[str, str]:
    row = {
        "学校标识码": code,
        "单位名称": name,
        "辅导室位置": "行政楼三楼301-305",
        "面积（平方米）": "120",
        "功能室": "个体辅导室2间30㎡、团体辅导室1间60平方米、办公接待区",
        "设备": "沙盘、音乐放松椅；心理测评系统",
        "开放时间": "周一至周五 12:00-13:30",
        "状态": "示范",  # not imported: an evaluation is a workflow
    }
    row.update(extra)
    return row


def areas(unit) -> dict[str, tuple[int, Decimal | None]]:
    return {a.function: (a.count, a.area_m2) for a in RoomArea.objects.filter(room__unit=unit)}


def test_gbk_csv_records_rooms_with_functions_equipment_and_audit(world, tmp_path):
    rows = [room_row("3601000001"), room_row(name="甲区辅导站", **{"功能室": "个体咨询室、沙盘室"})]
    path = write_csv(tmp_path / "r.csv", rows, headers=HEADERS, encoding="gbk")
    _job, result = run("rooms", path, actor=world.district_admin)
    assert (result.created, result.updated, result.rejected) == (2, 0, 0)
    room = CounsellingRoom.objects.get(unit=world.school_a)
    assert room.location == "行政楼三楼301-305"
    assert room.area_m2 == Decimal("120.0")
    assert room.equipment_lines == ["沙盘", "音乐放松椅", "心理测评系统"]
    assert room.opening_hours == "周一至周五 12:00-13:30"
    assert room.status == "below"  # the file's 状态 column is ignored
    assert room.evaluated_on is None
    assert areas(world.school_a) == {
        "individual": (2, Decimal("30.0")),
        "group": (1, Decimal("60.0")),
        "reception": (1, None),
    }
    assert areas(world.station_a) == {"individual": (1, None), "sand_tray": (1, None)}
    events = AuditEvent.objects.filter(action="facilities.room.created")
    assert events.count() == 2
    assert AuditEvent.objects.filter(action="people.registry.imported").exists()


def test_xlsx_with_english_headers(world, tmp_path):
    headers = ["unit", "location", "area", "functional rooms", "opening hours"]
    rows = [{"unit": "甲区第一中学", "location": "Building B", "area": "80 m²",
             "functional rooms": "Individual counselling room x2; Sand-tray room",
             "opening hours": "Mon-Fri"}]  # fmt: skip
    _job, result = run("rooms", write_xlsx(tmp_path / "r.xlsx", rows, headers=headers))
    assert (result.created, result.rejected) == (1, 0)
    assert areas(world.school_a) == {"individual": (2, None), "sand_tray": (1, None)}
    assert CounsellingRoom.objects.get(unit=world.school_a).area_m2 == Decimal("80.0")


def test_reimport_is_idempotent_and_a_changed_cell_updates(world, tmp_path):
    path = write_csv(tmp_path / "r.csv", [room_row("3601000001")], headers=HEADERS)
    run("rooms", path)
    _job, again = run("rooms", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert AuditEvent.objects.filter(action="facilities.room.updated").count() == 0
    changed = room_row("3601000001", **{"功能室": "个体辅导室2间30㎡、测评室", "开放时间": "全天"})
    _job, third = run("rooms", write_csv(tmp_path / "r2.csv", [changed], headers=HEADERS))
    assert (third.created, third.updated) == (0, 1)
    assert areas(world.school_a) == {"individual": (2, Decimal("30.0")), "assessment": (1, None)}
    assert CounsellingRoom.objects.get(unit=world.school_a).opening_hours == "全天"
    assert AuditEvent.objects.filter(action="facilities.room.updated").count() == 1


def test_an_import_keeps_the_evaluated_status(world, tmp_path):
    import datetime

    run("rooms", write_csv(tmp_path / "r.csv", [room_row("3601000001")], headers=HEADERS))
    room = CounsellingRoom.objects.get(unit=world.school_a)
    set_status(actor=None, room=room, status="model", evaluated_on=datetime.date(2026, 6, 1))
    row = room_row("3601000001", **{"开放时间": "周一至周五", "状态": "未达标"})
    run("rooms", write_csv(tmp_path / "r2.csv", [row], headers=HEADERS))
    room.refresh_from_db()
    assert (room.status, room.opening_hours) == ("model", "周一至周五")


def test_bad_rows_rejected_with_row_numbers_good_rows_in(world, tmp_path):
    rows = [
        room_row("3601000001"),
        room_row(name="甲区辅导站", **{"功能室": "游泳池"}),  # row 3: unknown function
        room_row(name="市未成年人心理健康辅导中心", **{"面积（平方米）": "-5"}),  # row 4: area
        room_row(name="甲区"),  # row 5: a district has no counselling room
        room_row("3601000001", **{"辅导室位置": "别处"}),  # row 6: same unit as row 2
        room_row(name="市未成年人心理健康辅导中心", **{"辅导室位置": ""}),  # row 7: required
    ]
    job, result = run("rooms", write_csv(tmp_path / "r.csv", rows, headers=HEADERS))
    assert (result.created, result.rejected) == (1, 5)
    by_row = rejected_rows(job)
    assert set(by_row) == {"3", "4", "5", "6", "7"}
    assert by_row["3"][1] == "功能室"
    assert "游泳池" in by_row["3"][2]
    assert by_row["4"][1] == "面积"
    assert by_row["5"][1] == "单位名称"
    assert "2" in by_row["6"][2]
    assert by_row["7"][1] == "位置"
    assert report(job)[0][:3] == ["Row", "Column", "Reason"]
    assert CounsellingRoom.objects.count() == 1


def test_dry_run_changes_nothing(world, tmp_path):
    path = write_csv(tmp_path / "r.csv", [room_row("3601000001")], headers=HEADERS)
    _job, result = run("rooms", path, dry_run=True)
    assert result.created == 1
    assert not CounsellingRoom.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="facilities.").exists()


@pytest.mark.parametrize(
    ("who", "created"),
    [("school_admin", {"school_a"}), ("district_admin", {"school_a", "station_a"}),
     ("city_admin", {"school_a", "station_a", "school_b"})],
)  # fmt: skip
def test_units_outside_the_uploaders_scope_are_rejected(world, tmp_path, who, created):
    rows = [room_row("3601000001"), room_row(name="甲区辅导站"), room_row("3601000002")]
    path = write_csv(tmp_path / "r.csv", rows, headers=HEADERS)
    job, result = run("rooms", path, actor=getattr(world, who))
    units = {getattr(world, name).pk for name in created}
    assert set(CounsellingRoom.objects.values_list("unit_id", flat=True)) == units
    assert result.rejected == 3 - len(created)
    if who == "school_admin":
        assert "3601000002" in rejected_rows(job)["4"][2]


# --- pages ------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["school_admin", "district_admin", "city_admin"])
def test_upload_page_for_room_editors(world, client_for, who):
    response = client_for(getattr(world, who)).get(reverse("registries:upload", args=["rooms"]))
    assert response.status_code == 200
    assert "辅导室位置" in response.content.decode() or "位置" in response.content.decode()


@pytest.mark.parametrize("who", ["psych", "station_counsellor", "head_teacher", "auditor"])
def test_upload_page_wrong_role_403(world, client_for, who):
    response = client_for(getattr(world, who)).get(reverse("registries:upload", args=["rooms"]))
    assert response.status_code == 403


def test_job_of_another_school_is_404(world, client_for, tmp_path):
    path = write_csv(tmp_path / "r.csv", [room_row("3601000001")], headers=HEADERS)
    job, _result = run("rooms", path, actor=world.school_admin)
    other = _school_b_admin(world)
    url = reverse("registries:job-detail", kwargs={"kind": "rooms", "code": job.code})
    assert client_for(world.school_admin).get(url).status_code == 200
    assert client_for(other).get(url).status_code == 404
    assert client_for(world.psych).get(url).status_code == 403


def test_room_list_links_to_the_import(world, client_for):
    url = reverse("facilities:room-list")
    assert "rooms-import-link" in client_for(world.school_admin).get(url).content.decode()
    assert "rooms-import-link" not in client_for(world.psych).get(url).content.decode()


def _school_b_admin(world):
    from xinqiao.access.roles import Role

    from ..conftest import _user

    return _user("school_admin_b", "乙校德育主任", world.school_b, Role.SCHOOL_ADMIN)
