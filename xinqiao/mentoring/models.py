"""The mentor system (全员导师制, issue 15, R19; docs/mentoring.md).

- `Mentorship`: a teacher mentors a student for a term (orgs.Term). A student has at most one
  current mentor per term (a database constraint); reassigning ends the old row and adds a new
  one, ending sets `ended_at`. The rows carry the student's `school_id` (the distribution key).
- `TalkLog` (谈心谈话记录): a mentor's talk with a mentee: the date, a coded topic, a short note
  (encrypted at rest), and whether the mentor is worried; a worried talk files a concern into
  the alert flow (its code is kept here).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xinqiao.core.fields import EncryptedTextField
from xinqiao.orgs.models import OrgUnit, Term
from xinqiao.people.models import Student


class MentorshipQuerySet(models.QuerySet["Mentorship"]):
    def current(self) -> MentorshipQuerySet:
        """Not ended, in the current term."""
        return self.filter(ended_at__isnull=True, term__is_current=True)


class Mentorship(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="mentorships")
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mentorships"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = MentorshipQuerySet.as_manager()

    class Meta:
        verbose_name = _("mentorship")
        verbose_name_plural = _("mentorships")
        constraints = [
            models.UniqueConstraint(
                fields=["term", "student"],
                condition=Q(ended_at__isnull=True),
                name="mentoring_one_mentor_per_term",
            ),
        ]
        indexes = [
            models.Index(fields=["mentor", "term"], name="mentoring_mentor_term"),
            models.Index(fields=["school", "term"], name="mentoring_school_term"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} ← {self.mentor_id} ({self.term_id})"


class TalkTopic(models.TextChoices):
    STUDY = "study", _("Study")
    RELATIONSHIPS = "relationships", _("Relationships")
    FAMILY = "family", _("Family")
    EMOTIONS = "emotions", _("Emotions")
    LIFE_PLANNING = "life_planning", _("Life planning")
    OTHER = "other", _("Other")


class TalkLog(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="talk_logs")
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="talk_logs"
    )
    held_on = models.DateField(_("date of the talk"))
    topic = models.CharField(_("topic"), max_length=16, choices=TalkTopic.choices)
    note = EncryptedTextField(_("short note"), blank=True)
    worried = models.BooleanField(_("I am worried about the student"), default=False)
    concern_code = models.UUIDField(null=True, blank=True, editable=False)
    client_key = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("talk log")
        verbose_name_plural = _("talk logs")
        indexes = [
            models.Index(fields=["mentor", "held_on"], name="mentoring_talk_mentor_day"),
            models.Index(fields=["school", "held_on"], name="mentoring_talk_school_day"),
        ]

    def __str__(self) -> str:
        return f"{self.held_on} {self.topic}"
