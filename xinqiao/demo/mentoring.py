"""The demo city's mentor system (docs/mentoring.md, docs/demo.md): in every class of every
school the class's teachers (its head teacher and the subject teachers mentoring there) mentor
its students this term, spread evenly; about a third of the mentorships have a talk this month;
one talk per school is a worried one, logged through the real service (so it files a concern
into the alert flow). Bulk writes, deterministic for a seed."""

from __future__ import annotations

import datetime
import random
import uuid

from django.utils import timezone

from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Role
from xinqiao.mentoring import services
from xinqiao.mentoring.models import Mentorship, TalkLog, TalkTopic
from xinqiao.orgs.models import Kind, Term
from xinqiao.people.models import Student, StudentStatus

NOTES = {
    TalkTopic.STUDY: ["聊了期中复习计划，约定每周交一次错题本。", "数学跟不上，商量了补课安排。"],
    TalkTopic.RELATIONSHIPS: ["和同桌有些摩擦，已学会先冷静再沟通。", "交到了新朋友，情绪不错。"],
    TalkTopic.FAMILY: ["父母工作忙，周末多陪伴的建议已转达家长。", "家里有了二胎，有些失落。"],
    TalkTopic.EMOTIONS: ["考试前容易紧张，练习了呼吸放松。", "最近睡得不好，心情低落。"],
    TalkTopic.LIFE_PLANNING: ["谈了初中毕业后的打算，对职业有了初步想法。"],
    TalkTopic.OTHER: ["聊了社团活动，想参加合唱团。"],
}


def seed_demo_mentoring(*, seed: int = 0) -> dict[str, int]:
    """Mentorships and talk logs in every school; call inside the demo city's transaction."""
    term = Term.objects.current()
    if term is None:
        return {}
    rng = random.Random(seed + 15)
    now = timezone.now()
    today = timezone.localdate()
    teachers: dict[int, list[int]] = {}
    for a in (
        RoleAssignment.objects.active()
        .filter(role__in=[Role.HEAD_TEACHER, Role.MENTOR], org_unit__kind=Kind.CLASS)
        .order_by("role", "id")
    ):
        ids = teachers.setdefault(a.org_unit_id, [])
        if a.user_id not in ids:
            ids.append(a.user_id)
    students = (
        Student.objects.filter(status=StudentStatus.ENROLLED, school_class_id__in=list(teachers))
        .order_by("school_class_id", "pk")
        .values_list("pk", "school_id", "school_class_id")
    )
    rows: list[Mentorship] = []
    position: dict[int, int] = {}
    for pk, school_id, class_id in students:
        mentors = teachers[class_id]
        i = position.get(class_id, 0)
        position[class_id] = i + 1
        rows.append(
            Mentorship(
                code=uuid.UUID(int=rng.getrandbits(128), version=4),
                school_id=school_id,
                term=term,
                student_id=pk,
                mentor_id=mentors[i % len(mentors)],
                started_at=now,
            )
        )
    Mentorship.objects.bulk_create(rows, batch_size=2000)
    earliest = max(term.start_date, today.replace(day=1))
    span = max((today - earliest).days, 0)
    talks: list[TalkLog] = []
    for n, m in enumerate(rows):
        if rng.random() >= 0.33:
            continue
        topic = rng.choice(list(NOTES))
        talks.append(
            TalkLog(
                code=uuid.UUID(int=rng.getrandbits(128), version=4),
                school_id=m.school_id,
                term=term,
                student_id=m.student_id,
                mentor_id=m.mentor_id,
                held_on=earliest + datetime.timedelta(days=rng.randint(0, span)),
                topic=topic,
                note=rng.choice(NOTES[topic]),
                worried=False,
                client_key=f"demo-talk-{seed}-{n}",
                created_at=now,
            )
        )
    TalkLog.objects.bulk_create(talks, batch_size=2000)
    worried = 0
    first_of_school: dict[int, Mentorship] = {}
    for m in rows:
        first_of_school.setdefault(m.school_id, m)
    for school_id, m in sorted(first_of_school.items()):
        services.log_talk(
            actor=m.mentor,
            student=m.student,
            held_on=today,
            topic=TalkTopic.EMOTIONS,
            note="最近常说很累、不想上学，情绪明显低落，已建议心理老师跟进。",
            worried=True,
            client_key=f"demo-worried-{seed}-{school_id}",
        )
        worried += 1
    return {
        "mentorships": len(rows),
        "mentor talk logs": len(talks) + worried,
        "worried mentor talks": worried,
    }
