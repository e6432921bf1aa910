"""The org tree (R1): city → district → school → grade → class, plus centre, stations, hospitals.

Every unit stores a materialised path of fixed-width base-36 segments (its ancestors' ids and its
own). A subtree is one range scan on an indexed column: `path >= P AND path < P || '~'`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xinqiao.core.fields import PathField

SEGMENT_WIDTH = 7  # base-36, up to 78 billion units
PATH_END = "~"  # sorts after every path character ([0-9a-z.])


def path_segment(pk: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        pk, rest = divmod(pk, 36)
        out = digits[rest] + out
        if pk == 0:
            break
    return out.rjust(SEGMENT_WIDTH, "0") + "."


class Kind(models.TextChoices):
    CITY = "city", _("City")
    DISTRICT = "district", _("District / county")
    CENTRE = "centre", _("Minors' mental-health centre")
    STATION = "station", _("Counselling station")
    HOSPITAL = "hospital", _("Partner hospital")
    SCHOOL = "school", _("School")
    GRADE = "grade", _("Grade")
    CLASS = "class", _("Class")


# Which kinds may hang under which: the tree's shape is a rule, not a convention.
ALLOWED_CHILDREN: dict[str, set[str]] = {
    Kind.CITY: {Kind.DISTRICT, Kind.CENTRE, Kind.HOSPITAL, Kind.SCHOOL},
    Kind.DISTRICT: {Kind.STATION, Kind.SCHOOL, Kind.HOSPITAL},
    Kind.CENTRE: set(),
    Kind.STATION: set(),
    Kind.HOSPITAL: set(),
    Kind.SCHOOL: {Kind.GRADE},
    Kind.GRADE: {Kind.CLASS},
    Kind.CLASS: set(),
}


class Stage(models.TextChoices):
    PRIMARY = "primary", _("Primary school")
    JUNIOR = "junior", _("Junior high school")
    SENIOR = "senior", _("Senior high school")
    NINE_YEAR = "nine_year", _("Nine-year school")
    TWELVE_YEAR = "twelve_year", _("Twelve-year (complete) school")
    VOCATIONAL = "vocational", _("Vocational school")
    SPECIAL = "special", _("Special-education school")


class DistrictKind(models.TextChoices):
    DISTRICT = "district", _("District")
    COUNTY = "county", _("County")
    DEVELOPMENT_ZONE = "development_zone", _("Development zone")
    ADMINISTRATION = "administration", _("Administration bureau")


class OrgUnitQuerySet(models.QuerySet["OrgUnit"]):
    def within(self, *units: OrgUnit) -> OrgUnitQuerySet:
        """Units in the subtrees of the given units (each unit included)."""
        return self.filter(subtree_q(*units))

    def of_kind(self, *kinds: str) -> OrgUnitQuerySet:
        return self.filter(kind__in=kinds)

    def active(self) -> OrgUnitQuerySet:
        return self.filter(is_active=True)


def subtree_q(*units: OrgUnit, field: str = "path") -> Q:
    """Q for rows whose `field` path lies in the subtree of any of `units` (empty → nothing)."""
    q = Q(pk__in=[])
    for unit in units:
        q |= Q(**{f"{field}__gte": unit.path, f"{field}__lt": unit.path + PATH_END})
    return q


class OrgUnit(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=100)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    path = PathField(max_length=255, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(editable=False, default=0)
    # Denormalised so that every large table can carry a school_id (Citus distribution key).
    school = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("order"), default=0)

    # School attributes (only for kind=school).
    school_code = models.CharField(
        _("school identification code"), max_length=20, blank=True, db_index=True
    )
    stage = models.CharField(_("school stage"), max_length=16, choices=Stage.choices, blank=True)
    student_count = models.PositiveIntegerField(_("number of students"), null=True, blank=True)
    township_central = models.BooleanField(_("township central school"), default=False)
    # District attributes.
    district_kind = models.CharField(
        _("district type"), max_length=20, choices=DistrictKind.choices, blank=True
    )
    # Grade attributes: 1–12 (1–6 primary, 7–9 junior, 10–12 senior / vocational years).
    grade_level = models.PositiveSmallIntegerField(_("grade"), null=True, blank=True)
    entry_year = models.PositiveSmallIntegerField(_("entry year"), null=True, blank=True)

    objects = OrgUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        ordering = ["path"]
        indexes = [
            models.Index(fields=["kind", "path"], name="orgunit_kind_path"),
            models.Index(fields=["parent", "sort_order"], name="orgunit_parent_order"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["school_code"],
                condition=Q(kind="school") & ~Q(school_code=""),
                name="orgunit_unique_school_code",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A new unit needs its id before its path exists; a placeholder keeps the column unique.
        if not self.path:
            self.path = f"~new-{uuid.uuid4().hex}"
        super().save(*args, **kwargs)

    @property
    def is_school(self) -> bool:
        return self.kind == Kind.SCHOOL

    def ancestors(self) -> OrgUnitQuerySet:
        """Ancestors from the root down, in one query (paths are prefixes of ours)."""
        step = SEGMENT_WIDTH + 1
        prefixes = [self.path[:i] for i in range(step, len(self.path), step)]
        return OrgUnit.objects.filter(path__in=prefixes).order_by("depth")

    def descendants(self, *, include_self: bool = False) -> OrgUnitQuerySet:
        qs = OrgUnit.objects.within(self)
        return qs if include_self else qs.exclude(pk=self.pk)

    def contains(self, other: OrgUnit) -> bool:
        return other.path.startswith(self.path)

    def display_path(self) -> str:
        return (
            " / ".join(u.name for u in self.ancestors()) + (" / " if self.depth else "") + self.name
        )


class TermSeason(models.TextChoices):
    SPRING = "spring", _("Spring term")
    AUTUMN = "autumn", _("Autumn term")


class TermQuerySet(models.QuerySet["Term"]):
    def current(self) -> Term | None:
        return self.filter(is_current=True).first()

    def on(self, day: Any) -> Term | None:
        return self.filter(start_date__lte=day, end_date__gte=day).first()


class Term(models.Model):
    """A school year's spring or autumn term. Code: '2026-2027-1' (autumn) / '2026-2027-2'."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    school_year_start = models.PositiveSmallIntegerField(_("school year (start)"))
    season = models.CharField(_("term"), max_length=8, choices=TermSeason.choices)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    is_current = models.BooleanField(_("current term"), default=False)

    objects = TermQuerySet.as_manager()

    class Meta:
        verbose_name = _("term")
        verbose_name_plural = _("terms")
        ordering = ["-start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["school_year_start", "season"], name="term_unique_year_season"
            ),
            models.UniqueConstraint(
                fields=["is_current"], condition=Q(is_current=True), name="term_one_current"
            ),
            models.CheckConstraint(
                condition=Q(end_date__gt=models.F("start_date")), name="term_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_year_start}–{self.school_year_start + 1} {self.get_season_display()}"

    @staticmethod
    def make_code(school_year_start: int, season: str) -> str:
        return f"{school_year_start}-{school_year_start + 1}-{1 if season == 'autumn' else 2}"

    def contains_day(self, day: Any = None) -> bool:
        day = day or timezone.localdate()
        return bool(self.start_date <= day <= self.end_date)
