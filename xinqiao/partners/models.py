"""Partners of the schools (issue 14, R2/R9/R25/R26; docs/partners.md): partner-department
accounts, experts invited to one case, hospital areas (片区), and a psychiatrist's advice on a
referred student's joint support plan.

History is never overwritten: a department post, a hospital area and an expert's invitation end
by a date (or a revocation), and a plan's advice is a new row each time.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinqiao.access.models import RoleAssignment
from xinqiao.cases.models import Case, Referral, SupportPlan
from xinqiao.core.fields import EncryptedTextField
from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Student

USER = settings.AUTH_USER_MODEL


class Department(models.TextChoices):
    HEALTH = "health", _("Health commission")
    WOMEN = "women", _("Women's federation")
    YOUTH = "youth", _("Youth league")
    CIVIL_AFFAIRS = "civil_affairs", _("Civil affairs")
    CYBERSPACE = "cyberspace", _("Cyberspace office")
    POLICE = "police", _("Public security")


class DepartmentPostQuerySet(models.QuerySet["DepartmentPost"]):
    def current(self) -> DepartmentPostQuerySet:
        return self.filter(ended_on__isnull=True, assignment__is_active=True)


class DepartmentPost(models.Model):
    """A department officer's account at a city or district: which department they speak for.
    Their role assignment (`department_officer`) bounds the area; this row records the
    department and the dates."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="department_posts")
    department = models.CharField(_("department"), max_length=16, choices=Department.choices)
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    assignment = models.ForeignKey(
        RoleAssignment, on_delete=models.PROTECT, related_name="department_posts"
    )
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("until"), null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, related_name="+")

    objects = DepartmentPostQuerySet.as_manager()

    class Meta:
        verbose_name = _("department account")
        verbose_name_plural = _("department accounts")
        ordering = ["org_unit__path", "department", "started_on", "id"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_department_display()} @ {self.org_unit_id}"


class Purpose(models.TextChoices):
    CONFERENCE = "conference", _("Case conference")
    SUPERVISION = "supervision", _("Supervision")


class ExpertGrantQuerySet(models.QuerySet["ExpertGrant"]):
    def active(self) -> ExpertGrantQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ExpertGrant(models.Model):
    """An expert invited to one case for a case conference or supervision, until `expires_at`
    or a revocation. While it holds, the expert's scope (access layer) covers that student and
    their page shows that case; nothing else."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="expert_grants")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="+")
    expert = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="expert_grants")
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    reason = EncryptedTextField(_("reason"))
    granted_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField(_("until"))
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ExpertGrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("expert invitation")
        verbose_name_plural = _("expert invitations")
        ordering = ["-granted_at", "-id"]
        indexes = [models.Index(fields=["expert", "expires_at"], name="expertgrant_expert")]

    def __str__(self) -> str:
        return f"{self.expert} → case {self.case_id} until {self.expires_at:%Y-%m-%d}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class HospitalAreaQuerySet(models.QuerySet["HospitalArea"]):
    def current(self, day: object = None) -> HospitalAreaQuerySet:
        today = day or timezone.localdate()
        return self.filter(started_on__lte=today).filter(
            models.Q(ended_on__isnull=True) | models.Q(ended_on__gte=today)
        )


class HospitalArea(models.Model):
    """A partner hospital — and optionally one of its psychiatrists — serving an area (片区): a
    district's schools or one named school, from a date until a date."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    hospital = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("hospital")
    )
    psychiatrist = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("psychiatrist"),
    )
    area = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("until"), null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, related_name="+")

    objects = HospitalAreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("hospital area")
        verbose_name_plural = _("hospital areas")
        ordering = ["area__path", "started_on", "id"]

    def __str__(self) -> str:
        return f"{self.hospital_id} → {self.area_id}"


class PlanAdvice(models.Model):
    """A referred student's psychiatrist's contribution to the joint support plan: advice and a
    review date (clinical text: encrypted)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="plan_advice")
    plan = models.ForeignKey(
        SupportPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="plan_advice")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    advice = EncryptedTextField(_("advice for the support plan"))
    review_on = models.DateField(_("review date"))
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("psychiatrist's plan advice")
        verbose_name_plural = _("psychiatrist's plan advice")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id}: advice {self.created_at:%Y-%m-%d}"
