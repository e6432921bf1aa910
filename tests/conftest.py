"""Shared fixtures: a small world with a user for every role, and data that *could* leak.

Personas (all with password PASSWORD):
- school A (district A, junior high) with classes A1, A2; school B (district B) with class B1;
- one user per role at school A / district A, plus `psych_b` and `head_teacher_b1` at school B:
  each test of a view should prove that B's users see nothing of A (404) and that the wrong role
  is refused (403).
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone, translation

from xinqiao.access.roles import Role
from xinqiao.access.services import assign_role, create_staff
from xinqiao.alerts import rules
from xinqiao.orgs.services import create_term, create_unit
from xinqiao.people.models import GuardianRelation, ImportJob
from xinqiao.people.services import add_guardian, create_student

from .factories import PASSWORD
from .otp import verified_client
from .redis_server import redis_server  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[1]

# GB 11643 numbers with valid check digits (generated, not real people).
ID_A1 = "36010220130101001X"
ID_A2 = "360102201302020025"
ID_B1 = "360103201303030037"


@pytest.fixture(autouse=True)
def _english_unless_asked(settings):
    # The product defaults to zh-hans; tests assert on the English source strings unless they
    # opt into Chinese with translation.override("zh-hans") or an Accept-Language header
    # (tests/core/test_default_language.py proves the default).
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Uploaded documents (signed acknowledgements, consents, letters) go to the test's own
    # folder, not to the checkout's var/media.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _no_activity_write_mid_test(settings):
    # A signed-in request records activity once a minute since the last time (an extra query or
    # two): a slow test straddling that minute would make query counts flaky. Tests of session
    # expiry set it back (tests/access/test_sessions.py, tests/core/test_auth.py).
    settings.SESSION_ACTIVITY_WRITE_INTERVAL = 24 * 3600


@pytest.fixture(autouse=True)
def _rule_cache_per_test(monkeypatch):
    # The rule sets in force are cached per process and reloaded every 30 s: a test starts cold
    # (no rule set of another test) and the cache never expires mid-test, so query counts do not
    # depend on how slow the machine is. Publishing a version clears it, as in production.
    rules.cache.clear()
    monkeypatch.setattr(rules, "CACHE_SECONDS", 1e9)
    yield
    rules.cache.clear()


@pytest.fixture(autouse=True)
def _hotline_cache_per_test(monkeypatch):
    # The helpline directory is cached per process like the rule sets (emergency/hotlines.py):
    # cold at the start of each test, never expiring mid-test; a change clears it.
    from xinqiao.emergency import hotlines

    hotlines.cache.clear()
    monkeypatch.setattr(hotlines, "CACHE_SECONDS", 1e9)
    yield
    hotlines.cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness would dominate the suite; tests don't need it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory) -> Path:
    """One SQLite file migrated by the real `manage.py migrate` in a subprocess, once per test
    process (migrating costs seconds; copying the file, milliseconds)."""
    path = tmp_path_factory.mktemp("migrated") / "template.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
    env.pop("REDIS_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return path


@pytest.fixture
def migrated_sqlite(tmp_path, _migrated_sqlite_template) -> Path:
    """A fresh, migrated SQLite database file of its own, for a test that runs real processes
    (`manage.py …`, a server) against it."""
    path = tmp_path / "db.sqlite3"
    shutil.copyfile(_migrated_sqlite_template, path)
    return path


def _user(username: str, name: str, unit, role: str, role_unit=None):
    staff = create_staff(
        actor=None,
        username=username,
        name=name,
        org_unit=unit,
        password=PASSWORD,
        roles=[(role, role_unit or unit)],
    )
    return staff.user


@pytest.fixture
def world(db):
    w = SimpleNamespace()
    w.city = create_unit(actor=None, parent=None, kind="city", name="示例市")
    w.centre = create_unit(
        actor=None, parent=w.city, kind="centre", name="市未成年人心理健康辅导中心"
    )
    w.district_a = create_unit(actor=None, parent=w.city, kind="district", name="甲区")
    w.district_b = create_unit(actor=None, parent=w.city, kind="district", name="乙区")
    w.station_a = create_unit(actor=None, parent=w.district_a, kind="station", name="甲区辅导站")
    w.hospital = create_unit(actor=None, parent=w.city, kind="hospital", name="市精神卫生中心")
    w.school_a = create_unit(
        actor=None,
        parent=w.district_a,
        kind="school",
        name="甲区第一中学",
        stage="junior",
        school_code="3601000001",
        student_count=900,
    )
    w.school_b = create_unit(
        actor=None,
        parent=w.district_b,
        kind="school",
        name="乙区第二中学",
        stage="junior",
        school_code="3601000002",
        student_count=700,
    )
    w.grade_a7 = create_unit(
        actor=None, parent=w.school_a, kind="grade", name="七年级", grade_level=7
    )
    w.grade_b7 = create_unit(
        actor=None, parent=w.school_b, kind="grade", name="七年级", grade_level=7
    )
    w.class_a1 = create_unit(actor=None, parent=w.grade_a7, kind="class", name="七(1)班")
    w.class_a2 = create_unit(actor=None, parent=w.grade_a7, kind="class", name="七(2)班")
    w.class_b1 = create_unit(actor=None, parent=w.grade_b7, kind="class", name="七(1)班")
    w.term = create_term(
        actor=None,
        school_year_start=2026,
        season="autumn",
        start_date=datetime.date(2026, 9, 1),
        end_date=datetime.date(2027, 1, 22),
        make_current=True,
    )

    def student(number, name, gender, cls, id_number):
        return create_student(
            actor=None,
            student_number=number,
            name=name,
            gender=gender,
            birth_date=datetime.date(2013, 1, 1),
            school_class=cls,
            term=w.term,
            id_number=id_number,
        )

    w.stu_a1 = student("G" + ID_A1, "王小明", "M", w.class_a1, ID_A1)
    w.stu_a2 = student("G" + ID_A2, "李小红", "F", w.class_a2, ID_A2)
    w.stu_b1 = student("G" + ID_B1, "赵小刚", "M", w.class_b1, ID_B1)

    w.city_admin = _user("city_admin", "市管理员", w.city, Role.CITY_ADMIN)
    w.district_admin = _user("district_admin_a", "甲区管理员", w.district_a, Role.DISTRICT_ADMIN)
    w.station_counsellor = _user(
        "station_counsellor_a", "甲区辅导员", w.station_a, Role.STATION_COUNSELLOR
    )
    w.school_admin = _user("school_admin_a", "甲校德育主任", w.school_a, Role.SCHOOL_ADMIN)
    w.psych = _user("psych_a", "甲校心理老师", w.school_a, Role.PSYCHOLOGY_TEACHER)
    w.head_teacher = _user(
        "head_teacher_a1", "甲校七1班主任", w.school_a, Role.HEAD_TEACHER, w.class_a1
    )
    w.mentor = _user("mentor_a1", "甲校科任老师", w.school_a, Role.MENTOR, w.class_a1)
    w.psychiatrist = _user("psychiatrist", "精神科医生", w.hospital, Role.PSYCHIATRIST)
    w.auditor = _user("auditor", "审计员", w.city, Role.AUDITOR)
    w.sysadmin = _user("sysadmin", "系统管理员", w.city, Role.SYSTEM_ADMIN)
    w.psych_b = _user("psych_b", "乙校心理老师", w.school_b, Role.PSYCHOLOGY_TEACHER)
    w.head_teacher_b = _user(
        "head_teacher_b1", "乙校七1班主任", w.school_b, Role.HEAD_TEACHER, w.class_b1
    )

    user_model = get_user_model()
    w.committee = user_model.objects.create_user("committee_a1", password=PASSWORD)
    w.stu_a1.user = w.committee
    w.stu_a1.save(update_fields=["user"])
    assign_role(actor=None, user=w.committee, role=Role.COMMITTEE_MEMBER, org_unit=w.class_a1)

    w.parent = user_model.objects.create_user("parent_a1", password=PASSWORD)
    w.guardian_a1 = add_guardian(
        actor=None,
        student=w.stu_a1,
        relation=GuardianRelation.MOTHER,
        name="王妈妈",
        phone="13800138000",
        is_primary=True,
        user=w.parent,
    )
    assign_role(actor=None, user=w.parent, role=Role.PARENT, org_unit=w.school_a)

    # A finished roster import by school A's admin (tests/people/test_import*.py build their own).
    w.import_job = ImportJob.objects.create(
        created_by=w.school_admin,
        org_unit=w.school_a,
        school=w.school_a,
        term=w.term,
        file="imports/sample.csv",
        original_name="名单.csv",
        status="succeeded",
    )

    # Partners (issue 14): 甲区's civil-affairs officer and an expert of the city's pool, plain
    # accounts (not education staff).
    from xinqiao.partners import services as partner_services

    w.department_officer = user_model.objects.create_user(
        "civil_affairs_a", password=PASSWORD, first_name="甲区民政干部"
    )
    w.department_post = partner_services.give_department_post(
        actor=None, user=w.department_officer, department="civil_affairs", org_unit=w.district_a
    )
    w.expert = user_model.objects.create_user("expert", password=PASSWORD, first_name="心理专家")
    assign_role(actor=None, user=w.expert, role=Role.EXPERT, org_unit=w.city)
    from xinqiao.workforce.services import create_expert

    w.pool_expert = create_expert(  # the city's expert pool links the account
        actor=None, owner=w.city, name="心理专家", expertise="危机干预", user=w.expert
    )

    w.by_role = {
        Role.CITY_ADMIN: w.city_admin,
        Role.DISTRICT_ADMIN: w.district_admin,
        Role.STATION_COUNSELLOR: w.station_counsellor,
        Role.SCHOOL_ADMIN: w.school_admin,
        Role.PSYCHOLOGY_TEACHER: w.psych,
        Role.HEAD_TEACHER: w.head_teacher,
        Role.MENTOR: w.mentor,
        Role.COMMITTEE_MEMBER: w.committee,
        Role.PARENT: w.parent,
        Role.PSYCHIATRIST: w.psychiatrist,
        Role.AUDITOR: w.auditor,
        Role.SYSTEM_ADMIN: w.sysadmin,
        Role.DEPARTMENT_OFFICER: w.department_officer,
        Role.EXPERT: w.expert,
    }

    # Screening (issue 4): school A's open autumn campaign and a sitting for class A1.
    from django.utils import timezone as _tz

    from xinqiao.screening import services as screening_services

    _now = _tz.now()
    w.campaign = screening_services.create_campaign(
        actor=w.psych,
        name="甲校2026秋季心理普查",
        term=w.term,
        kind="routine_autumn",
        owner_unit=w.school_a,
        units=[w.school_a],
        opens_at=_now - datetime.timedelta(hours=1),
        closes_at=_now + datetime.timedelta(days=14),
    )
    screening_services.open_campaign(actor=w.psych, campaign=w.campaign)
    w.campaign.refresh_from_db()
    w.sitting = screening_services.open_sitting(
        actor=w.psych, campaign=w.campaign, school_class=w.class_a1
    )

    # Alerts (issue 5): the committee member's concern about stu_a1, which raised an orange alert.
    from xinqiao.alerts import services as alert_services

    w.concern_a1 = alert_services.file_concern(
        actor=w.committee,
        student=w.stu_a1,
        what_seen="他最近常说活着没意思",
        seen_on=_tz.localdate(),
        urgency="soon",
    )
    w.alert_a1 = w.concern_a1.alert

    # Cases (issue 5): an open orange case for stu_a2, referred to the city hospital's psychiatrist.
    from xinqiao.cases.models import Case, LevelChange, Referral

    now = _tz.now()
    w.case_a2 = Case.objects.create(
        student=w.stu_a2,
        school=w.school_a,
        level="orange",
        level_since=now,
        owner=w.psych,
        opened_at=now,
        opened_by=w.psych,
        next_follow_up_due=now + datetime.timedelta(days=7),
    )
    LevelChange.objects.create(
        case=w.case_a2, kind="opened", to_level="orange", changed_by=w.psych, at=now
    )
    w.referral_a2 = Referral.objects.create(
        case=w.case_a2,
        student=w.stu_a2,
        hospital=w.hospital,
        psychiatrist=w.psychiatrist,
        reason="持续情绪低落，需专科评估",
        consent_basis="guardian_consent",
        sent_by=w.psych,
        sent_at=now,
        client_key="world-referral-a2",
    )
    # Partners: the expert is invited to case A2's conference; the hospital serves district A.
    w.expert_grant = partner_services.invite_expert(
        actor=w.psych,
        case=w.case_a2,
        expert=w.expert,
        purpose="conference",
        reason="个案研讨：请专家督导",
        days=7,
    )
    w.hospital_area = partner_services.assign_hospital_area(
        actor=w.city_admin, hospital=w.hospital, area=w.district_a, psychiatrist=w.psychiatrist
    )
    return w


@pytest.fixture
def client_for(db):
    """client_for(user) → a Django test client signed in as that user, second step passed."""

    def make(user) -> Client:
        # Signed in and past the second step, with an authenticator made here (tests/otp.py).
        return verified_client(user)

    return make


def respond(assignment, code, answers, *, valid=None):
    """A submitted screening: `assignment` hands in instrument `code` with `answers` now, scored
    by the real engine (4 seconds an item); `valid` overrides the validity checks' verdict."""
    from xinqiao.instruments.definition import get_definition
    from xinqiao.instruments.engine import score_response
    from xinqiao.screening.models import Response

    defn = get_definition(code)
    result = score_response(defn, answers, [4.0] * len(answers)).to_json_dict()
    if valid is not None:
        result["valid"] = valid
    return Response.objects.create(
        assignment=assignment,
        school_id=assignment.school_id,
        instrument_code=defn.code,
        instrument_version=defn.version,
        answers=answers,
        times=[4.0] * len(answers),
        scores=result["scores"],
        bands=result["bands"],
        critical=result["critical"],
        missing=result["missing"],
        flags=result["flags"],
        valid=result["valid"],
        submitted_at=timezone.now(),
        client_key=f"k-{assignment.pk}-{code}",
    )


@pytest.fixture(autouse=True)
def _audit_anchor_in_tmp(settings, tmp_path):
    # The audit anchors go to the test's own folder, not to the checkout's var/.
    settings.AUDIT_ANCHOR_PATH = tmp_path / "audit-anchors.jsonl"
