"""factory-boy factories: small, realistic records built through the real services.

Each factory's `_create` calls the service a user's action would (so paths, denormalised schools,
audit events and validation are the real ones); a test asks for what it needs and gets a parent
chain made for it: `ClassFactory()` makes a city, district, school and grade above the class.
Pass a parent to share one: `StudentFactory(school_class=cls)`. Tests that need a few people in
two schools use the persona fixtures in tests/conftest.py built from these; the `world` fixture
(a small city with every role and a campaign, an alert and a case) is for the tests that need all
of that.
"""

from __future__ import annotations

import datetime
from typing import Any

import factory
from django.utils import timezone
from stdnum.cn import ric

from xinqiao.access.services import create_staff
from xinqiao.orgs.models import OrgUnit, Term
from xinqiao.orgs.services import create_term, create_unit
from xinqiao.people.models import Staff, Student
from xinqiao.people.services import create_student
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
