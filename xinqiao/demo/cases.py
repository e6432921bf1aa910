"""Demo high-care cases for the demo city 示例市 (issue 5): alerts, cases, referrals, step-downs.

`seed_demo_cases(seed=…)` runs after the city is built (`seed_demo_city(cases=True)`, which the
`seed_demo` command and therefore `make run` use). It writes ONLY through the real services —
`alerts.services.raise_alert` / `file_concern` / `acknowledge_alert` / `verify_alert` (which
opens the case through `alert_confirmed`), `cases.services.care` (usual team, support plan,
follow-ups, guardian contacts with signed acknowledgements), `cases.services.referrals` (refer,
received, seen, feedback) and `cases.services.lifecycle` (step-down request and decision) — so
every row, notification and audit event is what the application itself would have written.

History realism. A demo is more useful with a case that has been open for three weeks than with
eleven cases opened a second ago, but time travel (time_machine) is a test tool, not available at
runtime. So each step of a story runs through its service *now* and the rows it just created or
changed then get the story's timestamp with a queryset `.update()` (`_Stories.step`: the creation
time of every row made in the step; explicit updates for state times such as `acknowledged_at`,
`received_at`, `level_since`, `closed_at`). Services that take a time (a follow-up's `done_at`, a
guardian contact's `contacted_at`, a visit's `seen_on`, an interview's `interviewed_at`) get it
directly. Steps run in the story's chronological order, so each service sees the state it would
have seen then (a follow-up's "was due", the daily → weekly red schedule after the hospital's
feedback, the minimum stays before a step down). The audit log is NOT rewritten: its events
carry the real time of seeding (the chain is append-only), which tells an auditor exactly when
the demo history was generated.

Deterministic: the students, reporters, levels, stories and texts come from `random.Random(seed)`
and the seeded city (students are picked by student number), so the same `--seed` gives the same
cases; timestamps are relative to the moment of seeding. Record codes (case and alert URLs) are
random like every record the services create.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Role
from xinqiao.alerts import rules as rules_mod
from xinqiao.alerts import services as alert_services
from xinqiao.alerts.deadlines import deadlines_for
from xinqiao.alerts.models import (
    OPEN_STATUSES,
    Alert,
    AlertTrigger,
    Concern,
    Level,
    Outcome,
    Source,
    Urgency,
    Verification,
)
from xinqiao.cases.models import (
    Case,
    CaseDocument,
    CaseStatus,
    CaseTeamMember,
    ConsentAnswer,
    ConsentBasis,
    ContactMethod,
    DiagnosisCategory,
    FollowUp,
    FollowUpMethod,
    GuardianContact,
    LevelChange,
    Referral,
    RequestStatus,
    StepDownRequest,
    SupportPlan,
    Trend,
)
from xinqiao.cases.services import care, lifecycle, referrals
from xinqiao.cases.services.common import reschedule_follow_up
from xinqiao.core.types import User
from xinqiao.notifications.models import Notification
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Guardian, Student

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
DEMO_SCHOOL = "mhyc"  # 明湖区育才中学 — the school of the demo logins
OTHER_SCHOOL = "yssy"  # 云山区实验中学 — demo_psych_yssy_1 compares scopes
HOSPITAL_1 = "示例市精神卫生中心"
HOSPITAL_2 = "示例市第三人民医院"

# The creation time of each kind of row a step makes; `step()` moves new rows to the step's time.
CREATED: list[tuple[type[Model], str]] = [
    (Alert, "created_at"),
    (AlertTrigger, "at"),
    (Concern, "created_at"),
    (Verification, "created_at"),
    (LevelChange, "at"),
    (CaseTeamMember, "added_at"),
    (SupportPlan, "created_at"),
    (FollowUp, "created_at"),
    (GuardianContact, "created_at"),
    (CaseDocument, "uploaded_at"),
    (Referral, "sent_at"),
    (StepDownRequest, "requested_at"),
    (Notification, "created_at"),
]


def tiny_pdf(text: str = "Signed acknowledgement (demo)") -> bytes:
    """A small, valid one-page PDF (the upload check reads the magic number; viewers need the
    rest). ASCII text only."""
    safe = text.encode("ascii", "replace").decode().replace("(", "[").replace(")", "]")
    stream = f"BT /F1 14 Tf 72 720 Td ({safe}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# --- what people write (fictitious) -------------------------------------------------------------
TEXTS: dict[str, list[str]] = {
    "concern_plan": [
        "该生在周记里写到“不想活了”，并提到已经想好了办法，课间情绪激动。",
        "同学反映该生最近说要“结束一切”，书包里发现刀片。",
    ],
    "concern_soon": [
        "最近两周上课经常趴在桌上，不交作业，课间一个人待着，情绪明显低落。",
        "近期多次迟到，和同学发生冲突后哭泣，说“活着很累”。",
    ],
    "concern_watch": [
        "期中考试后成绩下滑明显，上课注意力不集中，食欲不好。",
        "最近不太爱说话，和好朋友的关系也疏远了，建议关注。",
    ],
    "verify_red": [
        "核实访谈：学生承认近两周反复出现自伤想法，并有具体方式与时间设想；立即启动危机干预，"
        "全程陪护并通知家长。",
        "核实访谈：学生描述了明确的自杀计划并已准备工具；判定为红色，当日联系家长并转介。",
    ],
    "verify_orange": [
        "核实访谈：情绪低落持续两周以上，偶有消极念头但无计划；确认为橙色，每周随访。",
        "核实访谈：睡眠差、兴趣减退，自评抑郁明显；无自伤行为，确认为橙色。",
    ],
    "verify_yellow": [
        "核实访谈：近期学业压力大，情绪波动，社会支持尚可；确认为黄色，按月随访。",
        "核实访谈：存在一定焦虑情绪，能正常上课与交往；确认为黄色。",
    ],
    "follow_up": [
        "面谈约30分钟，情绪较前平稳，能讲出近期的压力来源，愿意继续每周见面。",
        "电话联系家长与学生，睡眠有所改善，按时服药，未见自伤行为。",
        "课堂观察：能参与小组讨论，午饭时与同桌交流，状态比上周好。",
        "面谈：仍感疲惫，对考试担心，一起制定了复习计划和放松练习。",
        "面谈：主动分享周末和家人出游的经历，笑容增多，自评心情6分（满分10分）。",
    ],
    "said_red": [
        "告知家长学生目前处于高风险状态（红色），需24小时有人陪护，建议尽快到精神卫生中心就诊，"
        "并请家长签署告知书。",
    ],
    "said_other": [
        "向家长介绍学生近期在校表现与心理老师的评估，商量家校配合的做法。",
        "与家长沟通学生的睡眠与作息情况，建议减少晚间手机使用，周末多陪伴。",
    ],
    "response": [
        "家长表示理解，同意配合，愿意带孩子就诊并签字确认。",
        "家长较为担心，表示会调整工作时间多陪伴孩子。",
    ],
    "referral_reason": [
        "PHQ-A第9题2分，核实访谈确认有自伤想法与计划，近两周情绪持续低落、失眠。请协助评估诊治。",
        "ASQ既往自伤史阳性，近期情绪低落伴消极言语，家长同意就诊。请评估是否需要药物治疗。",
    ],
    "advice": [
        "诊断为抑郁发作（中度），已开始药物治疗。建议学校：每周心理老师面谈一次；减轻作业量；"
        "留意情绪与睡眠变化，如出现自伤言行立即联系家长与医院。4周后复诊。",
        "以焦虑情绪为主，暂不需住院。建议学校：保持规律作息，避免当众批评，安排信任的同学陪伴；"
        "两周后复诊。",
    ],
    "plan_goal": ["确保安全，情绪逐步稳定，恢复正常上课与同伴交往。"],
    "plan_actions": [
        "1. 心理老师按级别随访；2. 班主任每日观察并及时报告；3. 心理委员陪伴、留意变化；"
        "4. 家长监督服药、陪伴就诊；5. 每两周与家长沟通一次。",
    ],
    "step_down": [
        "医院反馈建议降级；近两周随访情绪稳定，无自伤言行，能正常上课，家长配合良好。",
        "连续随访均有改善，复评分数下降，符合降级条件。",
    ],
    "close": ["黄色关注已满八周，随访持续改善，学生与家长同意结案，后续纳入常规关注。"],
    "emergency": ["学生当日有明确自杀计划，家长外出务工暂时联系不上，为保护学生生命健康先行转介。"],
}


@dataclass
class DemoCases:
    counts: dict[str, int] = field(default_factory=dict)
    # story key → (school slug, student number) — what the docs and the tests refer to
    students: dict[str, tuple[str, str]] = field(default_factory=dict)


class _Stories:
    def __init__(self, *, seed: int) -> None:
        self.rng = random.Random(f"xinqiao-demo-cases-{seed}")
        self.now = timezone.now()
        self.local_now = timezone.localtime(self.now, SHANGHAI)
        self.marks = self._maxes()
        self.users = {
            u.username: u for u in get_user_model().objects.filter(username__startswith="demo_")
        }
        self.used: set[int] = set()
        self.result = DemoCases()

    # --- time ----------------------------------------------------------------------------------
    @staticmethod
    def _maxes() -> dict[type[Model], int]:
        """The highest primary key of every table in CREATED, in one query."""
        quote = connection.ops.quote_name
        parts = []
        for model, _name in CREATED:  # names from the models, quoted: no user input
            column, table = quote(str(model._meta.pk.column)), quote(model._meta.db_table)  # type: ignore[union-attr]
            parts.append(f"(SELECT MAX({column}) FROM {table})")  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(parts))
            row = cursor.fetchone()
        return {model: top or 0 for (model, _name), top in zip(CREATED, row, strict=True)}

    def ago(self, days: int, hour: int = 10, minute: int = 0) -> datetime.datetime:
        """`days` ago at a school hour (Beijing time); never later than a minute ago."""
        day = self.local_now.date() - datetime.timedelta(days=days)
        when = datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)
        return min(when, self.now - datetime.timedelta(minutes=1))

    def minutes_ago(self, minutes: int) -> datetime.datetime:
        return self.now - datetime.timedelta(minutes=minutes)

    @contextmanager
    def step(self, when: datetime.datetime) -> Iterator[None]:
        """Run services inside; every row they create gets `when` as its creation time."""
        yield
        tops = self._maxes()
        for model, name in CREATED:
            if tops[model] > self.marks[model]:
                model._default_manager.filter(pk__gt=self.marks[model], pk__lte=tops[model]).update(
                    **{name: when}
                )
        self.marks = tops

    def text(self, key: str) -> str:
        return self.rng.choice(TEXTS[key])

    # --- people --------------------------------------------------------------------------------
    def user(self, username: str) -> User:
        return self.users[username]

    def role_holder(self, role: str, unit: OrgUnit, *, exclude: Sequence[Any] = ()) -> Any:
        skip = {u.pk for u in exclude if u is not None}
        for a in (
            RoleAssignment.objects.filter(role=role, org_unit=unit)
            .select_related("user")
            .order_by("user__username")
        ):
            if a.user_id not in skip:
                return a.user
        return None

    def leader(self, slug: str) -> Any:
        return self.user(f"demo_school_admin_{slug}")

    def pick(self, school: OrgUnit, *, in_class: OrgUnit | None = None, avoid: Any = None) -> Any:
        """A student of `school` not used yet: from `in_class` when given (else any class but
        `avoid`); never a committee member (they have an account) or a demo parent's child."""
        pool = (
            Student.objects.filter(school=school, user__isnull=True)
            .exclude(pk__in=self.used)
            .exclude(guardians__user__isnull=False)
            .select_related("school", "school_class")
            .order_by("name", "pk")
        )
        if in_class is not None:
            found = list(pool.filter(school_class=in_class)[:60])
        else:
            found = []
        if not found:
            rest = pool.exclude(school_class=avoid) if avoid is not None else pool
            found = list(rest[:400]) or list(pool[:400])
        if not found:
            return None
        student = self.rng.choice(found)
        self.used.add(student.pk)
        return student

    # --- alerts --------------------------------------------------------------------------------
    def _backdate_alert(self, alert: Alert, when: datetime.datetime) -> None:
        d = deadlines_for(alert.level, when)
        Alert.objects.filter(pk=alert.pk).update(
            level_since=when,
            acknowledge_by=d.acknowledge_by,
            verify_by=d.verify_by,
            guardian_informed_by=d.guardian_informed_by,
        )
        Concern.objects.filter(alert=alert).update(seen_on=timezone.localtime(when).date())

    def screening_alert(
        self,
        student: Any,
        *,
        level: str,
        rule: str,
        instruments: list[dict[str, Any]],
        when: datetime.datetime,
    ) -> Alert:
        """An alert as a screening hand-in raises it (rule, rule-set version, scores); the demo has
        no questionnaire behind it, so the evidence says `demo` and names no response."""
        active = rules_mod.ruleset_for(school_id=student.school_id, stage="junior")
        evidence = {
            "kind": "critical" if level != Level.YELLOW else "score",
            "assignment": None,
            "demo": True,
            "instruments": [
                {"response": None, "critical": [], "missing": [], "valid": True, **i}
                for i in instruments
            ],
        }
        with self.step(when):
            alert = alert_services.raise_alert(
                student=student,
                level=level,
                source=Source.SCREENING,
                evidence=evidence,
                rule=rule,
                ruleset_version=active.label,
            )
        self._backdate_alert(alert, when)
        return alert

    def concern(
        self, reporter: Any, student: Any, *, urgency: str, key: str, when: datetime.datetime
    ) -> Alert:
        with self.step(when):
            concern = alert_services.file_concern(
                actor=reporter,
                student=student,
                what_seen=self.text(key),
                seen_on=timezone.localtime(when).date(),
                urgency=urgency,
            )
        alert = concern.alert
        assert alert is not None
        self._backdate_alert(alert, when)
        return alert

    def acknowledge(self, alert: Alert, actor: User, when: datetime.datetime) -> Alert:
        with self.step(when):
            alert = alert_services.acknowledge_alert(alert, actor=actor)
        Alert.objects.filter(pk=alert.pk).update(acknowledged_at=when)
        return alert

    def verify(
        self,
        alert: Alert,
        actor: User,
        *,
        when: datetime.datetime,
        outcome: str = Outcome.CONFIRMED,
        new_level: str = "",
    ) -> Case:
        """The verification interview (an hour before `when`); the case opens at `when`."""
        level = new_level or alert.level
        with self.step(when):
            alert_services.verify_alert(
                alert,
                actor=actor,
                outcome=outcome,
                new_level=new_level,
                reason=self.text(f"verify_{level}"),
                interviewed_at=when - datetime.timedelta(hours=1),
            )
        Alert.objects.filter(pk=alert.pk).update(verified_at=when)
        Alert.objects.filter(pk=alert.pk, acknowledged_at__gt=when).update(acknowledged_at=when)
        case = Case.objects.get(student_id=alert.student_id, status=CaseStatus.OPEN)
        Case.objects.filter(pk=case.pk).update(opened_at=when, level_since=when)
        case.refresh_from_db()
        reschedule_follow_up(case, after=when)
        return case

    # --- care ----------------------------------------------------------------------------------
    def usual_team(self, case: Case, actor: User, when: datetime.datetime) -> None:
        with self.step(when):
            care.add_usual_team(case, actor=actor)

    def plan(self, case: Case, actor: User, when: datetime.datetime, review_in: int) -> None:
        with self.step(when):
            care.save_support_plan(
                case,
                actor=actor,
                goal=self.text("plan_goal"),
                actions=self.text("plan_actions"),
                owner=actor,
                review_on=self.local_now.date() + datetime.timedelta(days=review_in),
            )

    def follow_up(
        self,
        case: Case,
        actor: User,
        when: datetime.datetime,
        *,
        trend: str = Trend.STABLE,
        method: str = FollowUpMethod.INTERVIEW,
    ) -> None:
        with self.step(when):
            care.record_follow_up(
                case,
                actor=actor,
                client_key=f"demo-fu-{self.rng.getrandbits(64):016x}",
                done_at=when,
                method=method,
                trend=trend,
                risk_signs=False,
                note=self.text("follow_up"),
            )

    def guardian_contact(
        self,
        case: Case,
        actor: User,
        when: datetime.datetime,
        *,
        level: str,
        method: str = ContactMethod.PHONE,
        consent: str = ConsentAnswer.GIVEN,
        signed: bool = True,
    ) -> GuardianContact:
        guardian = (
            Guardian.objects.filter(student_id=case.student_id)
            .order_by("-is_primary", "id")
            .first()
        )
        red = level == Level.RED
        upload = None
        if red and signed:
            upload = SimpleUploadedFile(
                "家长告知书回执.pdf", tiny_pdf("Guardian acknowledgement (demo)"), "application/pdf"
            )
        with self.step(when):
            return care.record_guardian_contact(
                case,
                actor=actor,
                client_key=f"demo-gc-{self.rng.getrandbits(64):016x}",
                guardian=guardian,
                method=method,
                contacted_at=when,
                what_was_said=self.text("said_red" if red else "said_other"),
                guardian_response=self.text("response"),
                consent=consent,
                informed_of_level=level,
                acknowledgement=upload,
                acknowledgement_later=red and not signed,
            )

    # --- referrals -----------------------------------------------------------------------------
    def refer(
        self,
        case: Case,
        actor: User,
        when: datetime.datetime,
        *,
        hospital: OrgUnit,
        psychiatrist: Any,
        contact: GuardianContact | None = None,
        signed_consent: bool = False,
        emergency: bool = False,
    ) -> Referral:
        document = None
        if signed_consent:
            document = SimpleUploadedFile(
                "转介知情同意书.pdf",
                tiny_pdf("Guardian consent to referral (demo)"),
                "application/pdf",
            )
        with self.step(when):
            return referrals.refer(
                case,
                actor=actor,
                hospital=hospital,
                psychiatrist=psychiatrist,
                reason=self.text("referral_reason"),
                consent_basis=ConsentBasis.EMERGENCY
                if emergency
                else ConsentBasis.GUARDIAN_CONSENT,
                consent_document=document,
                consent_contact=None if emergency else contact,
                emergency_reason=self.text("emergency") if emergency else "",
                client_key=f"demo-rf-{self.rng.getrandbits(64):016x}",
            )

    def received(self, referral: Referral, when: datetime.datetime) -> None:
        with self.step(when):
            referrals.mark_received(referral, actor=referral.psychiatrist)
        Referral.objects.filter(pk=referral.pk).update(received_at=when)

    def seen(self, referral: Referral, when: datetime.datetime) -> None:
        with self.step(when):
            referrals.mark_seen(
                referral, actor=referral.psychiatrist, seen_on=timezone.localtime(when).date()
            )

    def feedback(self, referral: Referral, when: datetime.datetime, *, review_in: int) -> None:
        with self.step(when):
            referrals.give_feedback(
                referral,
                actor=referral.psychiatrist,
                diagnosis_category=self.rng.choice(
                    [DiagnosisCategory.MOOD, DiagnosisCategory.ANXIETY]
                ),
                advice_for_school=self.text("advice"),
                next_review_on=self.local_now.date() + datetime.timedelta(days=review_in),
            )
        Referral.objects.filter(pk=referral.pk).update(feedback_at=when)

    # --- step down -----------------------------------------------------------------------------
    def ask_step_down(self, case: Case, actor: User, when: datetime.datetime) -> StepDownRequest:
        with self.step(when):
            return lifecycle.request_step_down(
                case,
                actor=actor,
                reason=self.text("close" if case.level == "yellow" else "step_down"),
            )

    def approve(self, request: StepDownRequest, leader: Any, when: datetime.datetime) -> Case:
        with self.step(when):
            lifecycle.decide_step_down(request, actor=leader, approve=True, note="同意。")
        StepDownRequest.objects.filter(pk=request.pk).update(decided_at=when)
        case = Case.objects.get(pk=request.case_id)
        if case.is_open:
            Case.objects.filter(pk=case.pk).update(level_since=when)
            case.refresh_from_db()
            reschedule_follow_up(case, after=when)
        else:
            Case.objects.filter(pk=case.pk).update(closed_at=when)
            case.refresh_from_db()
        return case

    # --- the stories ---------------------------------------------------------------------------
    def remember(self, key: str, slug: str, student: Any) -> None:
        self.result.students[key] = (slug, student.student_number)

    def run(self) -> DemoCases:
        schools = {
            u.name: u
            for u in OrgUnit.objects.filter(kind__in=[Kind.SCHOOL, Kind.HOSPITAL]).only(
                "pk", "name", "kind", "path"
            )
        }
        mhyc = OrgUnit.objects.filter(
            pk__in=RoleAssignment.objects.filter(
                user__username=f"demo_psych_{DEMO_SCHOOL}_1", role=Role.PSYCHOLOGY_TEACHER
            ).values("org_unit")
        ).first()
        yssy = OrgUnit.objects.filter(
            pk__in=RoleAssignment.objects.filter(
                user__username=f"demo_psych_{OTHER_SCHOOL}_1", role=Role.PSYCHOLOGY_TEACHER
            ).values("org_unit")
        ).first()
        hospital1, hospital2 = schools.get(HOSPITAL_1), schools.get(HOSPITAL_2)
        if mhyc is None or yssy is None or hospital1 is None or hospital2 is None:
            return self.result  # not the demo city
        head71 = self.user(f"demo_head_{DEMO_SCHOOL}_7_1")
        class71 = RoleAssignment.objects.get(user=head71, role=Role.HEAD_TEACHER).org_unit
        self.demo_school(mhyc, class71, hospital1)
        self.other_school(yssy, hospital2)
        self.result.counts = self.count()
        return self.result

    def reporter(self, role: str, student: Any, *, exclude: Sequence[Any] = ()) -> Any:
        found = self.role_holder(role, student.school_class, exclude=exclude)
        return found or self.role_holder(Role.HEAD_TEACHER, student.school_class)

    def demo_school(self, school: OrgUnit, class71: OrgUnit, hospital: OrgUnit) -> None:
        slug = DEMO_SCHOOL
        psych = self.user(f"demo_psych_{slug}_1")
        leader = self.leader(slug)
        doctor, colleague = self.user("demo_psychiatrist_1_1"), self.user("demo_psychiatrist_1_2")
        pick = self.pick

        # A — red, in 七(1)班: screening (PHQ-A item 9 = 2) verified as red; guardian informed
        # with the signed acknowledgement; referred to demo_psychiatrist_1_1, received, awaiting
        # the visit; daily follow-ups.
        if (s := pick(school, in_class=class71)) is not None:
            self.remember("red_referral", slug, s)
            alert = self.screening_alert(
                s,
                level=Level.ORANGE,
                rule="orange.phq_item9",
                instruments=[
                    {"code": "PHQ-A", "scores": {"total": 16}, "critical": ["9"]},
                    {"code": "GAD-7", "scores": {"total": 12}},
                ],
                when=self.ago(4, 9, 20),
            )
            self.acknowledge(alert, psych, self.ago(4, 9, 40))
            case = self.verify(
                alert, psych, when=self.ago(4, 11), outcome=Outcome.CHANGED, new_level=Level.RED
            )
            self.usual_team(case, psych, self.ago(4, 11, 15))
            contact = self.guardian_contact(case, psych, self.ago(4, 14, 30), level=Level.RED)
            self.plan(case, psych, self.ago(4, 16), review_in=10)
            referral = self.refer(
                case, psych, self.ago(3, 9), hospital=hospital, psychiatrist=doctor, contact=contact
            )
            self.received(referral, self.ago(3, 14))
            self.follow_up(case, psych, self.ago(3, 16))
            self.follow_up(case, psych, self.ago(2, 16), method=FollowUpMethod.PHONE)
            self.follow_up(case, psych, self.ago(1, 16, 30), trend=Trend.IMPROVING)
            self.follow_up(case, psych, self.ago(0, 16), trend=Trend.IMPROVING)  # (or just now)

        # B — orange, in 七(1)班: the head teacher's concern; the weekly follow-up is overdue.
        if (s := pick(school, in_class=class71)) is not None:
            self.remember("orange_overdue", slug, s)
            head = self.reporter(Role.HEAD_TEACHER, s)
            alert = self.concern(
                head, s, urgency=Urgency.SOON, key="concern_soon", when=self.ago(12)
            )
            self.acknowledge(alert, psych, self.ago(12, 14))
            case = self.verify(alert, psych, when=self.ago(11, 10))
            self.usual_team(case, psych, self.ago(11, 10, 10))
            self.guardian_contact(
                case, psych, self.ago(11, 17), level=Level.ORANGE, method=ContactMethod.MEETING
            )
            self.follow_up(case, psych, self.ago(10, 15))

        # C — red, another class: a committee member's report; referral with the signed consent,
        # seen, feedback given; now weekly follow-ups and a step down waiting for the leader.
        if (s := pick(school, avoid=class71)) is not None:
            self.remember("red_step_down", slug, s)
            committee = self.reporter(Role.COMMITTEE_MEMBER, s)
            alert = self.concern(
                committee, s, urgency=Urgency.PLAN, key="concern_plan", when=self.ago(20, 8, 30)
            )
            self.acknowledge(alert, psych, self.ago(20, 8, 45))
            case = self.verify(alert, psych, when=self.ago(20, 10))
            self.usual_team(case, psych, self.ago(20, 10, 15))
            self.guardian_contact(
                case, psych, self.ago(20, 12), level=Level.RED, method=ContactMethod.MEETING
            )
            referral = self.refer(
                case,
                psych,
                self.ago(20, 14),
                hospital=hospital,
                psychiatrist=doctor,
                signed_consent=True,
            )
            self.received(referral, self.ago(20, 16))
            self.plan(case, psych, self.ago(19, 17), review_in=7)
            self.follow_up(case, psych, self.ago(19, 16))
            self.follow_up(case, psych, self.ago(18, 16), method=FollowUpMethod.PHONE)
            self.seen(referral, self.ago(18, 10))
            self.follow_up(case, psych, self.ago(17, 16))
            self.follow_up(case, psych, self.ago(16, 16), method=FollowUpMethod.OBSERVATION)
            self.feedback(referral, self.ago(15, 10), review_in=13)
            self.follow_up(case, psych, self.ago(15, 16), trend=Trend.IMPROVING)
            self.follow_up(case, psych, self.ago(8, 16), trend=Trend.IMPROVING)
            self.follow_up(case, psych, self.ago(2, 16), trend=Trend.IMPROVING)
            self.ask_step_down(case, psych, self.ago(1, 9))

        # D — orange since a step down: red from screening 60 days ago, referred to
        # demo_psychiatrist_1_2 (so demo_psychiatrist_1_1 does not see it), feedback, approved.
        if (s := pick(school, avoid=class71)) is not None:
            self.remember("orange_stepped_down", slug, s)
            alert = self.screening_alert(
                s,
                level=Level.RED,
                rule="red.asq_attempt_with_phq9_item9",
                instruments=[
                    {"code": "ASQ", "scores": {"positive": 2}, "critical": ["4"]},
                    {"code": "PHQ-A", "scores": {"total": 19}, "critical": ["9"]},
                ],
                when=self.ago(60, 9),
            )
            self.acknowledge(alert, psych, self.ago(60, 9, 25))
            case = self.verify(alert, psych, when=self.ago(60, 11))
            self.usual_team(case, psych, self.ago(60, 11, 20))
            contact = self.guardian_contact(case, psych, self.ago(60, 13), level=Level.RED)
            referral = self.refer(
                case,
                psych,
                self.ago(59, 9),
                hospital=hospital,
                psychiatrist=colleague,
                contact=contact,
            )
            self.received(referral, self.ago(59, 11))
            self.follow_up(case, psych, self.ago(59, 16))
            self.follow_up(case, psych, self.ago(58, 16), method=FollowUpMethod.PHONE)
            self.seen(referral, self.ago(57, 10))
            self.feedback(referral, self.ago(55, 10), review_in=20)
            self.follow_up(case, psych, self.ago(53, 16), trend=Trend.IMPROVING)
            self.follow_up(case, psych, self.ago(46, 16), trend=Trend.IMPROVING)
            request = self.ask_step_down(case, psych, self.ago(45, 9))
            case = self.approve(request, leader, self.ago(44, 10))
            for days, trend in (
                (37, Trend.STABLE),
                (30, Trend.STABLE),
                (23, Trend.IMPROVING),
                (16, Trend.IMPROVING),
                (9, Trend.IMPROVING),
                (3, Trend.IMPROVING),
            ):
                self.follow_up(case, psych, self.ago(days, 15), trend=trend)

        # E — yellow: a screening score verified as yellow; monthly follow-up.
        if (s := pick(school, avoid=class71)) is not None:
            self.remember("yellow", slug, s)
            alert = self.screening_alert(
                s,
                level=Level.YELLOW,
                rule="yellow.phq_a_11",
                instruments=[{"code": "PHQ-A", "scores": {"total": 12}}],
                when=self.ago(25, 10),
            )
            self.acknowledge(alert, psych, self.ago(24, 9))
            case = self.verify(alert, psych, when=self.ago(22, 15))
            self.usual_team(case, psych, self.ago(22, 15, 10))
            self.guardian_contact(
                case, psych, self.ago(22, 17), level=Level.YELLOW, consent=ConsentAnswer.NOT_ASKED
            )
            self.follow_up(case, psych, self.ago(20, 15))

        # F — closed: a subject teacher's report, yellow for eight weeks, closed by the leader.
        if (s := pick(school, avoid=class71)) is not None:
            self.remember("closed", slug, s)
            head = self.role_holder(Role.HEAD_TEACHER, s.school_class)
            mentor = self.reporter(Role.MENTOR, s, exclude=[head])
            alert = self.concern(
                mentor, s, urgency=Urgency.WATCH, key="concern_watch", when=self.ago(85, 10)
            )
            self.acknowledge(alert, psych, self.ago(85, 14))
            case = self.verify(alert, psych, when=self.ago(83, 10))
            self.usual_team(case, psych, self.ago(83, 10, 10))
            self.guardian_contact(
                case, psych, self.ago(83, 16), level=Level.YELLOW, consent=ConsentAnswer.NOT_ASKED
            )
            for days in (80, 55, 30):
                self.follow_up(case, psych, self.ago(days, 15), trend=Trend.IMPROVING)
            request = self.ask_step_down(case, psych, self.ago(27, 10))
            self.approve(request, leader, self.ago(26, 10))

        # G, H, I — open alerts on the worklist, one of each level, not verified yet.
        if (s := pick(school, avoid=class71)) is not None:
            self.remember("alert_red_new", slug, s)
            head = self.reporter(Role.HEAD_TEACHER, s)
            self.concern(
                head, s, urgency=Urgency.PLAN, key="concern_plan", when=self.minutes_ago(25)
            )
        if (s := pick(school, avoid=class71)) is not None:
            self.remember("alert_orange_acknowledged", slug, s)
            alert = self.screening_alert(
                s,
                level=Level.ORANGE,
                rule="orange.asq_screen_positive",
                instruments=[{"code": "ASQ", "scores": {"positive": 1}, "critical": ["2"]}],
                when=self.ago(1, 10),
            )
            self.acknowledge(alert, psych, self.ago(1, 11))
        if (s := pick(school, avoid=class71)) is not None:
            self.remember("alert_yellow_new", slug, s)
            self.screening_alert(
                s,
                level=Level.YELLOW,
                rule="yellow.gad7_10",
                instruments=[{"code": "GAD-7", "scores": {"total": 11}}],
                when=self.ago(2, 10),
            )

    def other_school(self, school: OrgUnit, hospital: OrgUnit) -> None:
        slug = OTHER_SCHOOL
        psych = self.user(f"demo_psych_{slug}_1")
        doctor = self.user("demo_psychiatrist_2_1")

        # J — red: emergency referral to the other hospital; the signed acknowledgement is still
        # missing (the worklist lists it).
        if (s := self.pick(school)) is not None:
            self.remember("other_red", slug, s)
            head = self.reporter(Role.HEAD_TEACHER, s)
            alert = self.concern(
                head, s, urgency=Urgency.PLAN, key="concern_plan", when=self.ago(6, 9)
            )
            self.acknowledge(alert, psych, self.ago(6, 9, 20))
            case = self.verify(alert, psych, when=self.ago(6, 10, 30))
            self.usual_team(case, psych, self.ago(6, 10, 40))
            self.refer(
                case, psych, self.ago(6, 11), hospital=hospital, psychiatrist=doctor, emergency=True
            )
            self.guardian_contact(
                case,
                psych,
                self.ago(6, 15),
                level=Level.RED,
                consent=ConsentAnswer.NOT_ASKED,
                signed=False,
            )
            for days in (5, 3, 1, 0):
                self.follow_up(case, psych, self.ago(days, 16))

        # K — orange from screening, weekly follow-ups.
        if (s := self.pick(school)) is not None:
            self.remember("other_orange", slug, s)
            alert = self.screening_alert(
                s,
                level=Level.ORANGE,
                rule="orange.phq_total_20",
                instruments=[{"code": "PHQ-A", "scores": {"total": 21}}],
                when=self.ago(15, 10),
            )
            self.acknowledge(alert, psych, self.ago(15, 11))
            case = self.verify(alert, psych, when=self.ago(14, 10))
            self.usual_team(case, psych, self.ago(14, 10, 10))
            self.guardian_contact(case, psych, self.ago(14, 16), level=Level.ORANGE)
            self.follow_up(case, psych, self.ago(14, 17))
            self.follow_up(case, psych, self.ago(6, 15), trend=Trend.IMPROVING)

        # L — a yellow alert to verify.
        if (s := self.pick(school)) is not None:
            self.remember("other_alert_yellow_new", slug, s)
            self.screening_alert(
                s,
                level=Level.YELLOW,
                rule="yellow.phq_a_11",
                instruments=[{"code": "PHQ-A", "scores": {"total": 13}}],
                when=self.ago(1, 10),
            )

    def count(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for status, level in Case.objects.values_list("status", "level"):
            counts[f"cases_{level}" if status == CaseStatus.OPEN else "cases_closed"] += 1
        counts["alerts_open"] = Alert.objects.filter(status__in=OPEN_STATUSES).count()
        counts["referrals"] = Referral.objects.count()
        counts["follow_ups"] = FollowUp.objects.count()
        counts["guardian_contacts"] = GuardianContact.objects.count()
        counts["step_downs_pending"] = StepDownRequest.objects.filter(
            status=RequestStatus.PENDING
        ).count()
        return dict(sorted(counts.items()))


def seed_demo_cases(*, seed: int) -> DemoCases:
    """Write the demo cases (module docstring) into the demo city; call inside its transaction."""
    return _Stories(seed=seed).run()
