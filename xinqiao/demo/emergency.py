"""The demo city's counselling rooms, crisis teams, emergency plans, a drill and a district
helpline (docs/facilities.md, docs/emergency.md), made through the real services so each write
has its audit event: every school and station gets a room (three evaluated: one model, one
compliant, one below standard; the rest unevaluated), the checklist of the model school answered
with a photo, the city's team and 明湖区's team with members (staff and an outside psychiatrist),
the city's crisis plan in two versions, a drill under it, and 明湖区's station line."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from xinqiao.emergency import services as emergency
from xinqiao.facilities import services as facilities
from xinqiao.facilities.checklist import current_items
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Staff

# A 1×1 white JPEG: the evidence photo of the demo's checklist.
DEMO_PHOTO = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c"
    "1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc000"
    "0b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400"
    "b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c1"
    "1552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a63"
    "6465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6"
    "b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008"
    "010100003f00fbfcffd9"
)


def _pdf(title: str, version: int) -> SimpleUploadedFile:
    body = f"%PDF-1.4\n% {title} v{version} (demo)\n%%EOF\n".encode()
    return SimpleUploadedFile(f"{title}-v{version}.pdf", body, content_type="application/pdf")


def seed_demo_emergency(*, seed: int) -> dict[str, int]:
    """Call inside the demo city's transaction, after the org tree and staff exist."""
    rnd = random.Random(seed + 14)
    users = get_user_model().objects
    city_admin = users.get(username="demo_city_admin")
    mh_admin = users.get(username="demo_district_admin_mh")
    city = OrgUnit.objects.get(kind=Kind.CITY)
    mh = OrgUnit.objects.get(kind=Kind.DISTRICT, name="明湖区")
    today = timezone.localdate()
    counts = {"rooms": 0, "team_members": 0, "plan_versions": 0, "drills": 0, "hotlines": 0}

    # Counselling rooms: every school, station and the centre.
    units = OrgUnit.objects.filter(kind__in=[Kind.SCHOOL, Kind.STATION, Kind.CENTRE]).order_by(
        "path"
    )
    rooms = []
    for i, unit in enumerate(units):
        small = unit.kind == Kind.SCHOOL and i % 3 == 2
        areas = {
            "individual": (1 if small else 2, Decimal("12") if small else Decimal("15")),
            "group": (1, Decimal("40") if small else Decimal("60")),
            "reception": (1, Decimal("10")),
        }
        if not small:
            areas["relaxation"] = (1, Decimal("15"))
            areas["sand_tray"] = (1, Decimal("12"))
        total = sum((area * n for n, area in areas.values() if area is not None), Decimal("0"))
        rooms.append(
            facilities.save_room(
                actor=city_admin,
                unit=unit,
                location=f"{rnd.choice(['综合楼', '行政楼', '教学楼'])}{rnd.randint(1, 4)}楼",
                area_m2=total,
                equipment="个别辅导桌椅\n团体活动垫、道具\n放松椅\n沙盘一套\n心理测评软件\n加锁档案柜",
                opening_hours="周一至周五 12:00–13:30、16:30–17:30",
                areas=areas,
            )
        )
        counts["rooms"] += 1
    statuses = [("model", 400), ("compliant", 200), ("below", 100)]
    for room, (status, days_ago) in zip(rooms[:3], statuses, strict=False):
        facilities.set_status(
            actor=city_admin,
            room=room,
            status=status,
            evaluated_on=today - datetime.timedelta(days=days_ago),
            note="2025 年度评估" if status != "below" else "缺少团体辅导室，整改中",
        )
    if rooms:
        for n, item in enumerate(current_items()):
            facilities.answer_item(
                actor=city_admin,
                room=rooms[0],
                item=item.key,
                met=True,
                photo=(
                    SimpleUploadedFile("佐证.jpg", DEMO_PHOTO, content_type="image/jpeg")
                    if n < 3
                    else None
                ),
            )

    # Crisis teams: the city's and 明湖区's, with staff and one outside psychiatrist.
    city_team = emergency.create_team(
        actor=city_admin, unit=city, name="示例市心理危机干预工作队", duty_phone="0791-88330120"
    )
    mh_team = emergency.create_team(
        actor=mh_admin, unit=mh, name="明湖区心理危机干预工作队", duty_phone="0791-86100120"
    )
    start = today - datetime.timedelta(days=300)
    centre_staff = Staff.objects.filter(org_unit__kind=Kind.CENTRE).order_by("user__username")
    for i, staff in enumerate(centre_staff[:3]):
        emergency.add_member(
            actor=city_admin,
            team=city_team,
            role="leader" if i == 0 else "counsellor",
            staff=staff,
            started_on=start,
        )
        counts["team_members"] += 1
    emergency.add_member(
        actor=city_admin,
        team=city_team,
        role="psychiatrist",
        name="周医生",
        organisation="示例市精神卫生中心",
        phone="13900000001",
        started_on=start,
    )
    counts["team_members"] += 1
    mh_staff = Staff.objects.filter(org_unit__path__startswith=mh.path).filter(
        user__username__startswith="demo_station_mh"
    )
    for i, staff in enumerate(mh_staff.order_by("user__username")[:2]):
        emergency.add_member(
            actor=mh_admin,
            team=mh_team,
            role="leader" if i == 0 else "counsellor",
            staff=staff,
            started_on=start,
        )
        counts["team_members"] += 1

    # The city's crisis plan in two versions, and a drill under it.
    plan = emergency.create_plan(
        actor=city_admin,
        unit=city,
        title="示例市学生心理危机事件应急预案",
        kind="crisis",
        document=_pdf("示例市学生心理危机事件应急预案", 1),
        effective_on=today - datetime.timedelta(days=700),
        summary="首次发布",
    )
    emergency.add_version(
        actor=city_admin,
        plan=plan,
        document=_pdf("示例市学生心理危机事件应急预案", 2),
        effective_on=today - datetime.timedelta(days=60),
        summary="补充网络舆情监测与转介“绿色通道”流程",
    )
    counts["plan_versions"] += 2
    emergency.record_drill(
        actor=city_admin,
        unit=city,
        plan=plan,
        held_on=today - datetime.timedelta(days=30),
        scenario="考试季一名高中生在校内表达自杀意念：发现、报告、陪护、家长联络与医院转介",
        participants="市工作队、明湖区工作队、示例市第一中学心理老师和班主任",
        participant_count=26,
        findings="夜间联络链条过长；已将区工作队值班电话纳入学校通讯录",
    )
    counts["drills"] += 1

    # 明湖区's station line.
    emergency.add_hotline(
        actor=mh_admin,
        unit=mh,
        name="明湖区未成年人心理辅导站热线",
        number="0791-86100120",
        hours="周一至周五 8:30–21:00",
        audience="明湖区学生和家长",
        order=100,
    )
    counts["hotlines"] += 1
    return {f"emergency_{k}": v for k, v in counts.items()}
