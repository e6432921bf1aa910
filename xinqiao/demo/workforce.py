"""The demo city's workforce records (docs/workforce.md), through the real services: training
this school year for every school's teachers (most full-time psychology teachers past 40 hours, a
few short; head teachers around 10; most other teachers one course), a research activity in most
months of each district (明湖区 misses one, so the indicator shows a gap), a name-teacher studio
per district and a city expert team and skills competition with members and events, and the
city's expert pool with its committee. Deterministic for a seed."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from xinqiao.orgs.models import Kind, OrgUnit, Term, subtree_q
from xinqiao.people.models import Position, Staff
from xinqiao.workforce import selectors, services
from xinqiao.workforce.models import (
    Availability,
    CommitteeRole,
    RegistryKind,
    TrainingLevel,
    TrainingMode,
)

COURSES = [
    ("心理健康教育教师专业能力提升培训", "省教育厅", TrainingLevel.PROVINCIAL, TrainingMode.ONLINE),
    ("学生心理危机识别与干预", "市教育局", TrainingLevel.CITY, TrainingMode.OFFLINE),
    ("心理辅导活动课设计与实施", "区教师发展中心", TrainingLevel.DISTRICT, TrainingMode.OFFLINE),
    (
        "国培计划：中小学心理健康教育",
        "国家中小学智慧教育平台",
        TrainingLevel.NATIONAL,
        TrainingMode.ONLINE,
    ),
    ("班主任心理健康教育能力培训", "市教育学院", TrainingLevel.CITY, TrainingMode.ONLINE),
    ("全员导师制工作坊", "本校", TrainingLevel.SCHOOL, TrainingMode.OFFLINE),
]
THEMES = [
    "初中生情绪调适课例研讨",
    "心理健康教育课程标准解读",
    "学生心理危机个案研讨",
    "团体辅导活动设计展示",
    "家校协同心理育人研讨",
    "心理测评结果解读与应用",
    "生命教育主题班会观摩",
    "考前心理辅导经验交流",
]
EXPERTS = [
    ("周文华", "江西师范大学心理学院", "青少年发展与心理健康教育"),
    ("陈立新", "市精神卫生中心", "儿童青少年精神医学"),
    ("刘敏", "市教育科学研究院", "心理健康教育课程"),
    ("王建国", "市第一人民医院心身医学科", "危机干预与心理治疗"),
    ("李雪", "示例市第一中学", "学校心理辅导"),
    ("赵海涛", "市公安局心理服务中心", "危机谈判与应急心理援助"),
    ("孙静", "南昌大学公共卫生学院", "学生心理健康监测与评估"),
    ("黄丽", "市妇幼保健院", "家庭教育指导"),
]


def _day(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange(max(1, (end - start).days + 1)))


def seed_demo_workforce(*, seed: int) -> dict[str, int]:
    """Call inside the demo city's transaction, after its staff exist."""
    rng = random.Random(seed * 7 + 14)
    term = Term.objects.current()
    if term is None:
        return {}
    year = term.school_year_start
    start, end = selectors.school_year_bounds(year)
    today = min(timezone.localdate(), end)
    if today < start:
        today = start + datetime.timedelta(days=60)
    counts = {"training_records": 0, "research_activities": 0, "registries": 0, "experts": 0}
    school_staff = (
        Staff.objects.filter(is_active=True, org_unit__kind=Kind.SCHOOL)
        .prefetch_related("positions")
        .order_by("pk")
    )
    for staff in school_staff:
        posts = {p.position for p in staff.positions.all()}
        if Position.PSYCHOLOGY_TEACHER_FULL in posts:
            plan = [16, 12, 8, 6] if rng.random() < 0.8 else [12, 8, 6]
        elif posts & {Position.HEAD_TEACHER, Position.MORAL_EDUCATION_LEADER}:
            plan = [6, 4] if rng.random() < 0.7 else [6]
        elif posts & {Position.PSYCHOLOGY_TEACHER_PART}:
            plan = [12, 8]
        else:
            plan = [3] if rng.random() < 0.75 else []
        courses = rng.sample(COURSES, k=min(len(plan), len(COURSES)))
        for hours, (course, provider, level, mode) in zip(plan, courses, strict=False):
            services.add_training(
                actor=None,
                staff=staff,
                course=course,
                provider=provider,
                start_date=_day(rng, start, today),
                hours=Decimal(hours),
                level=level,
                mode=mode,
            )
            counts["training_records"] += 1
    districts = list(OrgUnit.objects.filter(kind=Kind.DISTRICT).order_by("path"))
    months = [m for m in selectors.school_year_months(year) if m <= today]
    for d, district in enumerate(districts):
        members = list(
            Staff.objects.filter(subtree_q(district, field="org_unit__path"), is_active=True)
            .filter(
                positions__position__in=[
                    Position.PSYCHOLOGY_TEACHER_FULL,
                    Position.PSYCHOLOGY_TEACHER_PART,
                    Position.STATION_COUNSELLOR,
                ]
            )
            .distinct()
            .order_by("pk")
        )
        for m, month in enumerate(months):
            if d == 0 and m == 1:
                continue  # the first district misses its second month
            day = min(month + datetime.timedelta(days=rng.randrange(5, 25)), today)
            services.record_research_activity(
                actor=None,
                district=district,
                date=day,
                theme=THEMES[(d + m) % len(THEMES)],
                organiser=f"{district.name}教师发展中心",
                participants=rng.sample(members, k=min(len(members), 6)),
            )
            counts["research_activities"] += 1
        studio = services.create_registry(
            actor=None,
            kind=RegistryKind.STUDIO,
            owner=district,
            name=f"{district.name}心理健康教育名师工作室",
            start_date=start,
        )
        for s in members[:4]:
            services.add_registry_member(studio, actor=None, staff=s, start_date=start)
        services.add_registry_event(
            studio, actor=None, date=months[0] + datetime.timedelta(days=20), title="工作室研修活动"
        )
        counts["registries"] += 1
    city = OrgUnit.objects.filter(kind=Kind.CITY).first()
    if city is None:
        return counts
    psychs = list(
        Staff.objects.filter(positions__position=Position.PSYCHOLOGY_TEACHER_FULL, is_active=True)
        .distinct()
        .order_by("pk")
    )
    team = services.create_registry(
        actor=None,
        kind=RegistryKind.EXPERT_TEAM,
        owner=city,
        name="示例市学生心理危机干预专家团队",
        start_date=start,
    )
    contest = services.create_registry(
        actor=None,
        kind=RegistryKind.COMPETITION,
        owner=city,
        name=f"{year}年全市心理健康教育教师基本功大赛",
        start_date=start,
    )
    for s in psychs[:5]:
        services.add_registry_member(team, actor=None, staff=s, start_date=start)
    for s in psychs[5:11]:
        services.add_registry_member(contest, actor=None, staff=s, start_date=start, role="参赛")
    services.add_registry_event(team, actor=None, date=start, title="专家团队年度工作会议")
    services.add_registry_event(contest, actor=None, date=today, title="初赛：心理辅导活动课展示")
    counts["registries"] += 2
    for i, (name, affiliation, expertise) in enumerate(EXPERTS):
        expert = services.create_expert(
            actor=None,
            owner=city,
            name=name,
            affiliation=affiliation,
            expertise=expertise,
            availability=Availability.LIMITED if i % 3 == 2 else Availability.AVAILABLE,
        )
        if i < 5:
            role = CommitteeRole.CHAIR if i == 0 else CommitteeRole.MEMBER
            services.seat_on_committee(expert, actor=None, role=role, start_date=start)
        counts["experts"] += 1
    return counts
