"""The demo city's counselling sessions (咨询记录) and supervision (督导), docs/counselling.md:
three sessions with summary and process notes in every school (its first psychology teacher,
three of its students), and in every district one supervision request from a school's
psychology teacher to the district station's counsellor, answered. Written with bulk_create
(the encrypted fields are sealed row by row on insert), deterministic for a seed."""

from __future__ import annotations

import datetime
import random
import uuid

from django.utils import timezone

from xinqiao.access.holders import users_with_role_by_unit
from xinqiao.access.roles import Role
from xinqiao.counselling.models import Session, SupervisionRequest
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Student

CONCERNS = [["study"], ["peers", "emotion"], ["family"], ["adaptation"], ["internet", "sleep"]]
INTERVENTIONS = [["supportive"], ["cbt", "relaxation"], ["solution"], ["sand_play"]]
SUMMARIES = [
    "建立咨询关系，了解学业压力来源；约定每周一次。",
    "与同学关系紧张，情绪低落；练习情绪识别。",
    "家庭沟通不畅；计划邀请家长面谈。",
]
NOTES = [
    "来访者主诉考试前失眠、心慌。探讨了对成绩的期待与父母的要求……（过程记录）",
    "来访者谈到被同学孤立，哭泣。共情后一起梳理可求助的人……（过程记录）",
    "来访者说父母经常争吵，回家不想说话。评估无自伤意念……（过程记录）",
]


def seed_demo_counselling_sessions(*, seed: int) -> dict[str, int]:
    """Call inside the demo city's transaction, after the org tree, staff and students exist."""
    rnd = random.Random(seed + 15)
    now = timezone.now().replace(second=0, microsecond=0)
    schools = list(OrgUnit.objects.filter(kind=Kind.SCHOOL, is_active=True).order_by("path"))
    psychs = users_with_role_by_unit(Role.PSYCHOLOGY_TEACHER, [s.pk for s in schools])
    sessions: list[Session] = []
    first_of_school: dict[int, Session] = {}
    for school in schools:
        counsellors = psychs.get(school.pk)
        if not counsellors:
            continue
        ids = list(
            Student.objects.filter(school=school).order_by("pk").values_list("pk", flat=True)[:60]
        )
        for n, student_id in enumerate(rnd.sample(ids, min(3, len(ids)))):
            starts = now - datetime.timedelta(days=rnd.randint(2, 40), hours=rnd.randint(0, 5))
            found = n == 2 and rnd.random() < 0.3
            session = Session(
                code=uuid.UUID(int=rnd.getrandbits(128), version=4),
                unit=school,
                school=school,
                student_id=student_id,
                counsellor=counsellors[0],
                starts_at=starts,
                minutes=rnd.choice([40, 45, 50]),
                channel="face_to_face",
                concerns=rnd.choice(CONCERNS),
                concern_text="",
                risk={"found": found, "level": "yellow" if found else ""},
                interventions=rnd.choice(INTERVENTIONS),
                plan="每周一次，持续四周。",
                summary=SUMMARIES[n % len(SUMMARIES)],
                notes=NOTES[n % len(NOTES)],
                client_key=f"demo-{school.pk}-{n}",
                recorded_at=starts + datetime.timedelta(hours=1),
            )
            sessions.append(session)
            first_of_school.setdefault(school.pk, session)
    Session.objects.bulk_create(sessions, batch_size=500)

    # One answered supervision request per district: its first school's psychology teacher asks
    # the district station's counsellor about that school's first session.
    stations = {
        s.parent_id: s
        for s in OrgUnit.objects.filter(kind=Kind.STATION, is_active=True).order_by("-path")
    }
    station_staff = users_with_role_by_unit(
        Role.STATION_COUNSELLOR, [s.pk for s in stations.values()]
    )
    requests: list[tuple[SupervisionRequest, Session]] = []
    asked_districts: set[int] = set()
    for school in schools:
        first = first_of_school.get(school.pk)
        district_id = school.ancestors().filter(kind=Kind.DISTRICT).values_list("pk", flat=True)
        district = next(iter(district_id), None)
        station = stations.get(district) if district else None
        supervisors = station_staff.get(station.pk) if station else None
        if first is None or district is None or not supervisors or district in asked_districts:
            continue
        asked_districts.add(district)
        asked = first.starts_at + datetime.timedelta(days=1)
        requests.append(
            (
                SupervisionRequest(
                    code=uuid.UUID(int=rnd.getrandbits(128), version=4),
                    supervisee=first.counsellor,
                    supervisor=supervisors[0],
                    question="来访者情绪反复，下一步如何推进？是否需要家长参与？",
                    asked_at=asked,
                    status="given",
                    advice="先巩固咨询关系，评估家庭支持；两周后再考虑家长面谈。",
                    actions="下次咨询做安全计划并记录。",
                    minutes=60,
                    given_at=asked + datetime.timedelta(days=1),
                    client_key=f"demo-supervision-{district}",
                ),
                first,
            )
        )
    SupervisionRequest.objects.bulk_create([r for r, _s in requests])
    through = SupervisionRequest.sessions.through
    through.objects.bulk_create(
        [through(supervisionrequest_id=r.pk, session_id=s.pk) for r, s in requests]
    )
    return {"counselling_sessions": len(sessions), "supervision_requests": len(requests)}
