"""Students, guardians, staff, enrolments, committee members, school groups (R5, R12, R26, R27)."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xinqiao.core.fields import EncryptedTextField
from xinqiao.orgs.models import OrgUnit, Term

from . import search as search_keys
from .validators import mask_id_number, validate_mobile, validate_student_number


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class StudentStatus(models.TextChoices):
    ENROLLED = "enrolled", _("Enrolled")
    SUSPENDED = "suspended", _("Suspended")
    TRANSFERRED_OUT = "transferred_out", _("Transferred out")
    GRADUATED = "graduated", _("Graduated")


# Family circumstances that raise attention (R26). Field name → label.
FAMILY_FLAGS: dict[str, Any] = {
    "left_behind": _("Left-behind child"),
    "single_parent": _("Single-parent family"),
    "orphan_or_unsupported": _("Orphan or de-facto unsupported"),
    "disability": _("Disability"),
    "low_income": _("Low-income family"),
    "migrant": _("Migrant child"),
}


PICK_LIMIT = 20  # rows a picker shows: a page, never the whole scope
MIN_NUMBER_TAIL = search_keys.NUMBER_TAIL_LENGTH  # the keyed tail hash covers four characters
# A tail longer than four is looked up by its last four, then checked against the decrypted
# number: this many candidates are read for one page.
TAIL_CANDIDATES = 200
_NUMBER_TAIL = re.compile(r"[0-9]+[0-9xX]?|[0-9]*[xX]")
_LATIN = re.compile(r"[A-Za-z ]+")


class StudentQuerySet(models.QuerySet["Student"]):
    def enrolled(self) -> StudentQuerySet:
        return self.filter(status=StudentStatus.ENROLLED)

    def search(self, text: str) -> StudentQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(name__contains=text) | Q(student_number_hash=search_keys.number_hash(text))
        )

    def pick(self, text: str, *, limit: int = PICK_LIMIT) -> list[Student]:
        """At most `limit` students matching what a picker's user typed, each an index range scan
        (people/search.py): digits → the end of the student number (four characters or more,
        through the keyed hash of its last four; a longer tail is checked against the decrypted
        candidates) or, four characters, the end of the ID number; Latin letters → pinyin
        initials; anything else → the start of the name, then the start of the class name. No
        ORDER BY in SQL (the scan stops after `limit` rows); the page is sorted by name here."""
        text = " ".join(text.split())
        if not text:
            return []
        # The ID number stays encrypted in the database and undecrypted here (deferred).
        rows = self.order_by().select_related("school", "school_class__parent").defer("id_number")
        found: list[Student] = []
        if _NUMBER_TAIL.fullmatch(text):
            typed = text.upper()
            if len(typed) >= MIN_NUMBER_TAIL:
                tail = rows.filter(number_tail_hash=search_keys.number_tail_hash(typed))
                if len(typed) == MIN_NUMBER_TAIL:
                    found = list(tail[:limit])
                else:
                    candidates: list[Student] = list(tail[:TAIL_CANDIDATES])
                    found = [s for s in candidates if s.student_number.endswith(typed)][:limit]
            tail_hash = search_keys.search_id_tail(text)
            if tail_hash and len(found) < limit:
                seen = {s.pk for s in found}
                more = rows.filter(id_tail_hash=tail_hash).exclude(pk__in=seen)
                found += list(more[: limit - len(found)])
        elif _LATIN.fullmatch(text):
            initials = text.replace(" ", "").lower()
            found = list(rows.filter(name_initials__startswith=initials)[:limit])
        else:
            found = list(rows.filter(name__startswith=text)[:limit])
            if len(found) < limit:
                more = rows.filter(school_class__name__startswith=text).exclude(
                    pk__in=[s.pk for s in found]
                )
                found += list(more[: limit - len(found)])
        found.sort(key=lambda s: (s.name, s.pk))
        return found


class Student(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Encrypted: the 学籍号 is usually "G" + the 身份证号. Bound to its own keyed hash, which is
    # computed from the number before the insert and is the unique key every lookup uses.
    student_number = EncryptedTextField(
        _("national student number"),
        validators=[validate_student_number],
        row_key="student_number_hash",
    )
    student_number_hash = models.CharField(
        max_length=64,
        unique=True,
        editable=False,
        error_messages={"unique": _("A student with this national student number already exists.")},
    )
    name = models.CharField(_("name"), max_length=60, db_index=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"))
    # Bound to the number's hash: the importer seals before the row (and its code) exists.
    id_number = EncryptedTextField(
        _("resident ID number"), blank=True, row_key="student_number_hash"
    )
    id_number_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    # Search keys (people/search.py), written with the row by `fill_search_keys`.
    name_initials = models.CharField(
        max_length=60, blank=True, db_index=True, editable=False, db_default=""
    )
    number_tail_hash = models.CharField(
        max_length=16, blank=True, db_index=True, editable=False, db_default=""
    )
    id_tail_hash = models.CharField(
        max_length=16, blank=True, db_index=True, editable=False, db_default=""
    )
    # The personal sign-in code (people/personal_codes.py): encrypted, so the class slip can be
    # printed again, and a keyed hash that sign-in compares. Empty until first issued.
    personal_code = EncryptedTextField(
        _("personal sign-in code"),
        blank=True,
        editable=False,
        db_default="",
        row_key="student_number_hash",
    )
    personal_code_hash = models.CharField(max_length=64, blank=True, editable=False, db_default="")
    status = models.CharField(
        _("status"), max_length=16, choices=StudentStatus.choices, default=StudentStatus.ENROLLED
    )
    school = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="students", verbose_name=_("school")
    )
    school_class = models.ForeignKey(
        OrgUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="class_students",
        verbose_name=_("class"),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="student",
    )
    left_behind = models.BooleanField(FAMILY_FLAGS["left_behind"], default=False)
    single_parent = models.BooleanField(FAMILY_FLAGS["single_parent"], default=False)
    orphan_or_unsupported = models.BooleanField(
        FAMILY_FLAGS["orphan_or_unsupported"], default=False
    )
    disability = models.BooleanField(FAMILY_FLAGS["disability"], default=False)
    low_income = models.BooleanField(FAMILY_FLAGS["low_income"], default=False)
    migrant = models.BooleanField(FAMILY_FLAGS["migrant"], default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StudentQuerySet.as_manager()

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        ordering = ["school_class", "name"]
        indexes = [
            models.Index(fields=["school", "status"], name="student_school_status"),
            models.Index(fields=["school_class", "name"], name="student_class_name"),
            # A picker's search inside one school: name / initials prefix (LIKE 'x%') on
            # PostgreSQL, whatever the database's collation.
            models.Index(
                fields=["school", "name"],
                name="student_school_name_like",
                opclasses=["", "varchar_pattern_ops"],
            ),
            models.Index(
                fields=["school", "name_initials"],
                name="student_school_initials_like",
                opclasses=["", "varchar_pattern_ops"],
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["personal_code_hash"],
                condition=~Q(personal_code_hash=""),
                name="student_personal_code_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name  # never the number: this ends up in logs and admin lists

    # search key → the field it is computed from
    SEARCH_KEYS: ClassVar[dict[str, str]] = {
        "name_initials": "name",
        "student_number_hash": "student_number",
        "number_tail_hash": "student_number",
        "id_tail_hash": "id_number",
    }

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        keys = self.fill_search_keys(None if update_fields is None else set(update_fields))
        if update_fields is not None:
            kwargs["update_fields"] = [*update_fields, *(k for k in keys if k not in update_fields)]
        super().save(*args, **kwargs)

    def fill_search_keys(self, sources: Any = None) -> list[str]:
        """Set the search keys computed from `sources` (default: all); returns the keys set. For
        bulk_create callers, which do not go through save."""
        keys = [k for k, src in self.SEARCH_KEYS.items() if sources is None or src in sources]
        if "name_initials" in keys:
            self.name_initials = search_keys.name_initials(self.name)
        if "student_number_hash" in keys:
            number = self.student_number
            new = search_keys.number_hash(number)
            if self.pk and self.student_number_hash and new != self.student_number_hash:
                # The hash is the row key of the encrypted fields: it never changes (rotate_keys
                # re-seals when the hash key does).
                raise ValueError("a student's national student number cannot be changed")
            self.student_number_hash = new
            self.number_tail_hash = search_keys.number_tail_hash(number)
        if "id_tail_hash" in keys:
            self.id_tail_hash = search_keys.id_tail_hash(self.id_number or "")
        return keys

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def family_flags(self) -> list[str]:
        return [str(label) for name, label in FAMILY_FLAGS.items() if getattr(self, name)]


class Enrolment(models.Model):
    """Which class a student was in for a term: the history the roster import keeps."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="enrolments")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    school_class = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="enrolments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["-term__start_date"]
        constraints = [
            models.UniqueConstraint(fields=["student", "term"], name="enrolment_one_per_term")
        ]
        indexes = [models.Index(fields=["school_class", "term"], name="enrolment_class_term")]

    def __str__(self) -> str:
        return f"{self.student_id} @ {self.school_class_id} ({self.term_id})"


class GuardianRelation(models.TextChoices):
    FATHER = "father", _("Father")
    MOTHER = "mother", _("Mother")
    GRANDPARENT = "grandparent", _("Grandparent")
    OTHER_RELATIVE = "relative", _("Other relative")
    OTHER = "other", _("Other guardian")


class GuardianQuerySet(models.QuerySet["Guardian"]):
    def current(self, on: date | None = None) -> GuardianQuerySet:
        """Guardianships not ended by `on` (default today): the ones that give a parent access."""
        return self.filter(current_q(on))


def current_q(on: date | None = None, prefix: str = "") -> Q:
    """Rows held on `on` (default today): no end date, or an end date after it."""
    on = on or timezone.localdate()
    return Q(**{f"{prefix}end_date__isnull": True}) | Q(**{f"{prefix}end_date__gt": on})


class Guardian(models.Model):
    # The row key the phone is sealed with (the importer sets it before the insert).
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardians")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    relation = models.CharField(_("relation"), max_length=16, choices=GuardianRelation.choices)
    name = models.CharField(_("name"), max_length=60)
    phone = EncryptedTextField(_("mobile"), validators=[validate_mobile], row_key="code")
    is_primary = models.BooleanField(_("primary contact"), default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="guardianships",
    )
    # History (R23): a guardianship is ended, never deleted. No start date: from the roster.
    start_date = models.DateField(_("since"), null=True, blank=True)
    end_date = models.DateField(_("ended on"), null=True, blank=True)

    objects = GuardianQuerySet.as_manager()

    class Meta:
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "name", "relation"], name="guardian_unique_per_student"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_relation_display()})"

    @property
    def is_current(self) -> bool:
        return self.end_date is None or self.end_date > timezone.localdate()


class CircumstanceSource(models.TextChoices):
    ROSTER = "roster", _("Roster import")
    HEAD_TEACHER = "head_teacher", _("Head teacher's home visit")
    GUARDIAN = "guardian", _("The guardian said so")
    CIVIL_AFFAIRS = "civil_affairs", _("Civil affairs / women's federation record")
    SCHOOL = "school", _("School record")
    IMPORT = "import", _("Guardians import")
    OTHER = "other", _("Other")


class FamilyCircumstance(models.Model):
    """One family circumstance (R26) held from `start_date` to `end_date`, and who said so. The
    Student booleans (FAMILY_FLAGS) are the current state, kept in sync by the services."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="circumstances")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(
        _("circumstance"),
        max_length=24,
        choices=[(name, label) for name, label in FAMILY_FLAGS.items()],
    )
    start_date = models.DateField(_("since"))
    end_date = models.DateField(_("ended on"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=CircumstanceSource.choices)
    # Free text about a child's family: sealed like every other personal detail.
    note = EncryptedTextField(_("note"), blank=True, row_key="code")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("family circumstance")
        verbose_name_plural = _("family circumstances")
        ordering = ["-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "kind"],
                condition=Q(end_date__isnull=True),
                name="circumstance_one_open_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.student_id}: {self.kind}"


class InvitationKind(models.TextChoices):
    COMMITTEE = "committee", _("Committee member's first sign-in")
    PARENT = "parent", _("Parent account")


class AccountInvitation(models.Model):
    """A one-time printable code: a committee member sets their password with it, a guardian
    creates (or links) their parent account. Only the code's keyed hash is stored; the code is
    shown once, on the printable slip (access/invitations.py)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=InvitationKind.choices)
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    guardian = models.ForeignKey(
        Guardian, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    # The committee member's account, made at the appointment; a parent's, once redeemed.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("valid until"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("account invitation")
        verbose_name_plural = _("account invitations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} invitation {self.code}"

    @property
    def is_open(self) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class Position(models.TextChoices):
    PSYCHOLOGY_TEACHER_FULL = "psychology_teacher_full", _("Full-time psychology teacher")
    PSYCHOLOGY_TEACHER_PART = "psychology_teacher_part", _("Part-time psychology teacher")
    HEAD_TEACHER = "head_teacher", _("Head teacher")
    SUBJECT_TEACHER = "subject_teacher", _("Subject teacher")
    MORAL_EDUCATION_LEADER = "moral_education_leader", _("Moral-education leader")
    PRINCIPAL = "principal", _("Principal")
    STATION_COUNSELLOR = "station_counsellor", _("Station counsellor")
    RESEARCH_TEACHER = "research_teacher", _("Psychology research teacher")
    DISTRICT_OFFICER = "district_officer", _("District officer")
    CITY_OFFICER = "city_officer", _("City officer")
    PSYCHIATRIST = "psychiatrist", _("Psychiatrist")
    CENTRE_STAFF = "centre_staff", _("Centre staff")
    MENTOR = "mentor", _("Mentor")
    OTHER = "other", _("Other post")


class EmploymentStatus(models.TextChoices):
    EMPLOYED = "employed", _("Employed")
    SECONDED = "seconded", _("Seconded")
    RETIRED = "retired", _("Retired")
    LEFT = "left", _("Left")


class Staff(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # A staff record needs no account; one is created by invitation (access/invitations.py).
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="staff",
        null=True,
        blank=True,
    )
    staff_number = models.CharField(_("staff number"), max_length=32, blank=True, db_index=True)
    name = models.CharField(_("name"), max_length=60, db_index=True)
    name_initials = models.CharField(
        max_length=60, blank=True, db_index=True, editable=False, db_default=""
    )
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    phone = EncryptedTextField(
        _("mobile"), blank=True, validators=[validate_mobile], row_key="code"
    )
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="staff", verbose_name=_("unit")
    )
    qualification = models.CharField(_("qualification"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    employment_status = models.CharField(
        _("employment status"),
        max_length=16,
        choices=EmploymentStatus.choices,
        default=EmploymentStatus.EMPLOYED,
    )
    left_on = models.DateField(_("left on"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "name" in update_fields:
            keys = self.fill_search_keys()
            if update_fields is not None:
                kwargs["update_fields"] = [*update_fields, *keys]
        super().save(*args, **kwargs)

    def fill_search_keys(self) -> list[str]:
        self.name_initials = search_keys.name_initials(self.name)
        return ["name_initials"]


class StaffPositionQuerySet(models.QuerySet["StaffPosition"]):
    def current(self) -> StaffPositionQuerySet:
        """Posts held now: not ended (an end date is the last day held)."""
        from django.utils import timezone

        return self.filter(
            models.Q(end_date__isnull=True) | models.Q(end_date__gte=timezone.localdate())
        )


class StaffPosition(models.Model):
    """One post a staff member holds, with its dates (history is kept: ending a post sets its end
    date); head teachers and subject teachers name their class."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="positions")
    position = models.CharField(_("position"), max_length=32, choices=Position.choices)
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)

    objects = StaffPositionQuerySet.as_manager()

    class Meta:
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "position", "org_unit"],
                condition=models.Q(end_date__isnull=True),
                name="staffposition_unique_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.staff} — {self.get_position_display()}"

    @property
    def is_current(self) -> bool:
        from django.utils import timezone

        return self.end_date is None or self.end_date >= timezone.localdate()


class QualificationKind(models.TextChoices):
    PSYCHOLOGY_DEGREE = "psychology_degree", _("Psychology degree")
    MHE_CERTIFICATE_C = "mhe_certificate_c", _("Mental-health-education teacher certificate C")
    MHE_CERTIFICATE_B = "mhe_certificate_b", _("Mental-health-education teacher certificate B")
    MHE_CERTIFICATE_A = "mhe_certificate_a", _("Mental-health-education teacher certificate A")
    REGISTERED_COUNSELLOR = "registered_counsellor", _("Registered counsellor")
    OTHER = "other", _("Other qualification")


class Qualification(models.Model):
    """A qualification or certificate of a staff member (R12): degree, the mental-health-education
    teacher certificate (C 初级 / B 中级 / A 高级), registered counsellor, other."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="qualifications")
    kind = models.CharField(_("kind"), max_length=32, choices=QualificationKind.choices)
    title = models.CharField(_("title"), max_length=200, blank=True)
    number = models.CharField(_("certificate number"), max_length=64, blank=True)
    issuer = models.CharField(_("issued by"), max_length=100, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    file = models.FileField(_("scan"), upload_to="qualifications/%Y/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")
        ordering = ["staff", "kind", "issued_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "kind", "number"], name="qualification_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.staff} — {self.get_kind_display()}"


class CoverageArrangement(models.Model):
    """A school of fewer than 800 students whose psychology teaching is covered by a supporting
    school or station (对口援助, 定点支教; R12), with its dates."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    school = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("school")
    )
    supporter = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("supported by")
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("coverage arrangement")
        verbose_name_plural = _("coverage arrangements")
        ordering = ["school", "-start_date", "pk"]

    def __str__(self) -> str:
        return f"{self.school} ← {self.supporter}"

    @property
    def is_current(self) -> bool:
        from django.utils import timezone

        today = timezone.localdate()
        return self.start_date <= today and (self.end_date is None or self.end_date >= today)


class CommitteeMember(models.Model):
    """心理委员: junior and senior high classes are expected to have one boy and one girl (R5)."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="committee_terms")
    school_class = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="+")
    # Replacing a member ends this row and appoints another: who held it when stays (R5).
    start_date = models.DateField(_("since"), default=date.today)
    end_date = models.DateField(_("ended on"), null=True, blank=True)

    class Meta:
        verbose_name = _("class psychology committee member")
        verbose_name_plural = _("class psychology committee members")
        constraints = [
            models.UniqueConstraint(
                fields=["student", "term"],
                condition=Q(end_date__isnull=True),
                name="committee_once_per_term_open",
            )
        ]
        indexes = [
            models.Index(fields=["school_class", "term"], name="committee_class_term"),
        ]

    def __str__(self) -> str:
        return f"{self.student} ({self.term})"


class GroupKind(models.TextChoices):
    LEADERSHIP = "leadership", _("Mental-health leadership group")
    WORK = "work", _("Mental-health work group")
    CRISIS = "crisis", _("Crisis-intervention group")


class SchoolGroup(models.Model):
    """The three groups every school must have (R27), each with members."""

    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="groups")
    kind = models.CharField(_("group"), max_length=16, choices=GroupKind.choices)
    members = models.ManyToManyField(Staff, through="SchoolGroupMember", related_name="groups")

    class Meta:
        verbose_name = _("school group")
        verbose_name_plural = _("school groups")
        constraints = [
            models.UniqueConstraint(fields=["school", "kind"], name="schoolgroup_one_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.school} — {self.get_kind_display()}"


class GroupRole(models.TextChoices):
    LEADER = "leader", _("Group leader")
    DEPUTY = "deputy", _("Deputy leader")
    MEMBER = "member", pgettext_lazy("school group role", "Member")


class SchoolGroupMember(models.Model):
    group = models.ForeignKey(SchoolGroup, on_delete=models.CASCADE, related_name="memberships")
    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="+")
    is_leader = models.BooleanField(_("leader"), default=False)  # role == LEADER
    role = models.CharField(
        _("role in the group"), max_length=16, choices=GroupRole.choices, default=GroupRole.MEMBER
    )
    duty = models.CharField(_("duty"), max_length=100, blank=True)
    start_date = models.DateField(_("since"), default=date.today)
    end_date = models.DateField(_("ended on"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "staff"],
                condition=Q(end_date__isnull=True),
                name="groupmember_unique_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.staff} @ {self.group}"


class ImportJobStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Finished")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """One roster import (R5/R12 data entry): the uploaded file, its progress, counts and errors.

    The uploaded file and the error report live under MEDIA_ROOT/imports/; the job row is the
    record an administrator comes back to. `org_unit` bounds who else may see the job (admins whose
    scope covers it); the importer checks every row against the acting user's scope separately.
    """

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
    )
    org_unit = models.ForeignKey(
        OrgUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("scope"),
    )
    school = models.ForeignKey(
        OrgUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("school"),
    )
    # "roster" for the roster import; a registry's kind (people/registry/) for the others.
    kind = models.CharField(_("import"), max_length=32, default="roster", db_index=True)
    term = models.ForeignKey(
        Term,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("term"),
    )
    dry_run = models.BooleanField(_("dry run"), default=False)
    language = models.CharField(_("language"), max_length=16, default="zh-hans")
    file = models.CharField(_("file"), max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    file_size = models.BigIntegerField(_("file size"), default=0)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportJobStatus.choices, default=ImportJobStatus.PENDING
    )
    error_message = models.TextField(_("error"), blank=True)
    rows_total = models.PositiveIntegerField(_("rows (estimate)"), default=0)
    rows_processed = models.PositiveIntegerField(_("rows processed"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    error_report = models.CharField(_("error report"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The uploaded file and the error report are deleted UPLOAD_RETENTION_DAYS after the job
    # finished (importer/files.py); the row and its counts stay.
    files_purged_at = models.DateTimeField(_("files deleted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("roster import")
        verbose_name_plural = _("roster imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "created_at"], name="importjob_user_created")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def is_done(self) -> bool:
        return self.status in (ImportJobStatus.SUCCEEDED, ImportJobStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == ImportJobStatus.SUCCEEDED:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(self.rows_processed * 100 / self.rows_total))
