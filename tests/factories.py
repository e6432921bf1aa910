"""factory-boy factories: small, realistic records built through the real services.

Each factory's `_create` calls the service a user's action would (so paths, denormalised schools,
audit events and validation are the real ones); a test asks for what it needs and gets a parent
chain made for it: `ClassFactory()` makes a city, district, school and grade above the class.
Pass a parent to share one: `StudentFactory(school_class=cls)`. Tests that need a few people in
two schools build them with `two_schools()` and `with_personas(...)` (at the end); the `world`
fixture (a small city with every role and a campaign, an alert and a case) is for the tests that
need all of that.
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from stdnum.cn import ric

from xinqiao.access.roles import Role
from xinqiao.access.services import assign_role, create_staff
from xinqiao.orgs.models import OrgUnit, Term
from xinqiao.orgs.services import create_term, create_unit
from xinqiao.people.models import GuardianRelation, Staff, Student
from xinqiao.people.services import add_guardian, create_student
from xinqiao.screening.models import Campaign
from xinqiao.screening.services import create_campaign

PASSWORD = "Xq-test-Passw0rd!"


def id_number(n: int, *, birth: datetime.date = datetime.date(2013, 1, 1)) -> str:
    """A 身份证号 with a valid GB 11643 check digit (made up: region 360102, sequence n)."""
    body = f"360102{birth:%Y%m%d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character


class _ServiceFactory(factory.Factory):
    """Build through a service: subclasses name it in `_create`."""

    class Meta:
        abstract = True

    @classmethod
    def _build(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("these records only exist through their services: use create")


class CityFactory(_ServiceFactory):
    class Meta:
        model = OrgUnit

    name = "示例市"

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> OrgUnit:
        existing = OrgUnit.objects.filter(kind="city").first()  # the tree has one root
        return existing or create_unit(actor=None, parent=None, kind="city", **kwargs)


class DistrictFactory(_ServiceFactory):
    class Meta:
        model = OrgUnit

    parent = factory.SubFactory(CityFactory)
    name = factory.Sequence(lambda n: f"第{n}区")

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> OrgUnit:
        return create_unit(actor=None, kind="district", **kwargs)


class SchoolFactory(_ServiceFactory):
    class Meta:
        model = OrgUnit

    parent = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"第{n}中学")
    stage = "junior"
    school_code = factory.Sequence(lambda n: f"36019{n:05d}")
    student_count = 800

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> OrgUnit:
        return create_unit(actor=None, kind="school", **kwargs)


class GradeFactory(_ServiceFactory):
    class Meta:
        model = OrgUnit

    parent = factory.SubFactory(SchoolFactory)
    grade_level = 7
    name = factory.LazyAttribute(lambda o: f"{o.grade_level}年级")

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> OrgUnit:
        return create_unit(actor=None, kind="grade", **kwargs)


class ClassFactory(_ServiceFactory):
    class Meta:
        model = OrgUnit

    parent = factory.SubFactory(GradeFactory)
    name = factory.Sequence(lambda n: f"({n})班")

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> OrgUnit:
        return create_unit(actor=None, kind="class", **kwargs)


class TermFactory(_ServiceFactory):
    """The current autumn term (made once; later calls return it)."""

    class Meta:
        model = Term

    school_year_start = 2026
    season = "autumn"
    start_date = datetime.date(2026, 9, 1)
    end_date = datetime.date(2027, 1, 22)

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> Term:
        code = Term.make_code(kwargs["school_year_start"], kwargs["season"])
        existing = Term.objects.filter(code=code).first()
        return existing or create_term(actor=None, make_current=True, **kwargs)


class StudentFactory(_ServiceFactory):
    class Meta:
        model = Student

    school_class = factory.SubFactory(ClassFactory)
    term = factory.SubFactory(TermFactory)
    name = factory.Sequence(lambda n: f"学生{n}")
    gender = factory.Iterator(["M", "F"])
    birth_date = datetime.date(2013, 1, 1)
    id_number = factory.Sequence(lambda n: id_number(n + 100))
    student_number = factory.LazyAttribute(lambda o: f"G{o.id_number}")

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> Student:
        return create_student(actor=None, **kwargs)


class StaffFactory(_ServiceFactory):
    """A staff member with a user account (password PASSWORD) and one role at `role_unit`
    (default: their own unit). `StaffFactory(role=Role.PSYCHOLOGY_TEACHER, org_unit=school)`."""

    class Meta:
        model = Staff

    username = factory.Sequence(lambda n: f"staff{n}")
    name = factory.Sequence(lambda n: f"老师{n}")
    org_unit = factory.SubFactory(SchoolFactory)
    role = None
    role_unit = None

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> Staff:
        role, role_unit = kwargs.pop("role"), kwargs.pop("role_unit")
        roles = [(role, role_unit or kwargs["org_unit"])] if role else []
        return create_staff(actor=None, password=PASSWORD, roles=roles, **kwargs)


# --- screening (tests/screening/test_selectors.py, test_service_refusals.py) --------------------


class StationFactory(_ServiceFactory):
    """A district's counselling station (a station's grants cover its district)."""

    class Meta:
        model = OrgUnit

    parent = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"第{n}辅导站")

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> OrgUnit:
        return create_unit(actor=None, kind="station", **kwargs)


class CampaignFactory(_ServiceFactory):
    """A draft campaign of the current term covering its owner unit (default: a new school),
    open for the next two weeks, made by the system; open it with `open_campaign`."""

    class Meta:
        model = Campaign

    owner_unit = factory.SubFactory(SchoolFactory)
    term = factory.SubFactory(TermFactory)
    name = factory.Sequence(lambda n: f"心理普查{n}")
    kind = "routine_autumn"
    opens_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=14))

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> Campaign:
        kwargs.setdefault("units", [kwargs["owner_unit"]])
        return create_campaign(actor=None, **kwargs)


# --- Two schools: the `world` fixture's org units, term and students without its casework -----


def two_schools() -> SimpleNamespace:
    """The `world` fixture's org shape, names and students, and nothing else: 示例市 with 甲区
    (甲区第一中学: 七年级, classes 七(1)班 A1 and 七(2)班 A2) and 乙区 (乙区第二中学: 七年级, class
    七(1)班 B1), the current autumn term, and 王小明 (A1), 李小红 (A2), 赵小刚 (B1) with the
    world's student numbers. A module adds the people its tests sign in as with `with_personas`."""
    w = SimpleNamespace()
    w.city = CityFactory()
    w.district_a = DistrictFactory(parent=w.city, name="甲区")
    w.district_b = DistrictFactory(parent=w.city, name="乙区")
    w.school_a = SchoolFactory(
        parent=w.district_a, name="甲区第一中学", school_code="3601000001", student_count=900
    )
    w.school_b = SchoolFactory(
        parent=w.district_b, name="乙区第二中学", school_code="3601000002", student_count=700
    )
    w.grade_a7 = GradeFactory(parent=w.school_a, name="七年级")
    w.grade_b7 = GradeFactory(parent=w.school_b, name="七年级")
    w.class_a1 = ClassFactory(parent=w.grade_a7, name="七(1)班")
    w.class_a2 = ClassFactory(parent=w.grade_a7, name="七(2)班")
    w.class_b1 = ClassFactory(parent=w.grade_b7, name="七(1)班")
    w.term = TermFactory()
    w.stu_a1 = StudentFactory(
        school_class=w.class_a1, term=w.term, name="王小明", gender="M", id_number=id_number(1)
    )
    w.stu_a2 = StudentFactory(
        school_class=w.class_a2,
        term=w.term,
        name="李小红",
        gender="F",
        id_number=id_number(2, birth=datetime.date(2013, 2, 2)),
    )
    w.stu_b1 = StudentFactory(
        school_class=w.class_b1,
        term=w.term,
        name="赵小刚",
        gender="M",
        id_number=id_number(3, birth=datetime.date(2013, 3, 3)),
    )
    return w


# The world's personas by attribute: username, name, unit, role and where the role holds (None:
# their own unit); `with_personas` makes the ones a module names.
_PERSONAS = {
    "city_admin": ("city_admin", "市管理员", "city", Role.CITY_ADMIN, None),
    "district_admin": ("district_admin_a", "甲区管理员", "district_a", Role.DISTRICT_ADMIN, None),
    "station_counsellor": (
        "station_counsellor_a",
        "甲区辅导员",
        "station_a",
        Role.STATION_COUNSELLOR,
        None,
    ),
    "school_admin": ("school_admin_a", "甲校德育主任", "school_a", Role.SCHOOL_ADMIN, None),
    "psych": ("psych_a", "甲校心理老师", "school_a", Role.PSYCHOLOGY_TEACHER, None),
    "head_teacher": ("head_teacher_a1", "甲校七1班主任", "school_a", Role.HEAD_TEACHER, "class_a1"),
    "mentor": ("mentor_a1", "甲校科任老师", "school_a", Role.MENTOR, "class_a1"),
    "psychiatrist": ("psychiatrist", "精神科医生", "hospital", Role.PSYCHIATRIST, None),
    "auditor": ("auditor", "审计员", "city", Role.AUDITOR, None),
    "sysadmin": ("sysadmin", "系统管理员", "city", Role.SYSTEM_ADMIN, None),
    "psych_b": ("psych_b", "乙校心理老师", "school_b", Role.PSYCHOLOGY_TEACHER, None),
    "head_teacher_b": (
        "head_teacher_b1",
        "乙校七1班主任",
        "school_b",
        Role.HEAD_TEACHER,
        "class_b1",
    ),
}


# Every persona of the world, for tests about who holds which role (nobody missing, nobody extra).
ALL_PERSONAS = (*_PERSONAS, "committee", "parent", "department_officer", "expert")


def with_personas(w: SimpleNamespace, *names: str) -> SimpleNamespace:
    """Add the named `world` personas to a `two_schools()` namespace, with the world's usernames,
    names and roles; the station 甲区辅导站 and the hospital 市精神卫生中心 are made when a persona
    needs them. "committee" is 王小明's own account (committee member of A1) and "parent" his
    mother's (a guardian with the parent role at school A), linked as the world links them."""
    if "station_counsellor" in names and not hasattr(w, "station_a"):
        w.station_a = create_unit(
            actor=None, parent=w.district_a, kind="station", name="甲区辅导站"
        )
    if "psychiatrist" in names and not hasattr(w, "hospital"):
        w.hospital = create_unit(actor=None, parent=w.city, kind="hospital", name="市精神卫生中心")
    for attr in names:
        if attr == "committee":
            w.committee = get_user_model().objects.create_user("committee_a1", password=PASSWORD)
            w.stu_a1.user = w.committee
            w.stu_a1.save(update_fields=["user"])
            assign_role(
                actor=None, user=w.committee, role=Role.COMMITTEE_MEMBER, org_unit=w.class_a1
            )
        elif attr == "department_officer":  # 甲区's civil-affairs officer (not education staff)
            from xinqiao.partners.services import give_department_post

            w.department_officer = get_user_model().objects.create_user(
                "civil_affairs_a", password=PASSWORD, first_name="甲区民政干部"
            )
            give_department_post(
                actor=None,
                user=w.department_officer,
                department="civil_affairs",
                org_unit=w.district_a,
            )
        elif attr == "expert":  # an expert of the city's pool, invited to no case yet
            w.expert = get_user_model().objects.create_user(
                "expert", password=PASSWORD, first_name="心理专家"
            )
            assign_role(actor=None, user=w.expert, role=Role.EXPERT, org_unit=w.city)
        elif attr == "parent":
            w.parent = get_user_model().objects.create_user("parent_a1", password=PASSWORD)
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
        else:
            username, name, unit, role, role_unit = _PERSONAS[attr]
            setattr(
                w,
                attr,
                StaffFactory(
                    username=username,
                    name=name,
                    org_unit=getattr(w, unit),
                    role=role,
                    role_unit=getattr(w, role_unit) if role_unit else None,
                ).user,
            )
    return w
