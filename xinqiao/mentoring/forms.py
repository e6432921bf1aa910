"""Forms of the mentor system; they validate input only (the services decide)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinqiao.access.pickers import PickerField, bind_pickers, student_source
from xinqiao.access.roles import Cap, Tier
from xinqiao.core.forms import ClientKeyMixin

from .models import TalkTopic
from .selectors import display_name

if TYPE_CHECKING:
    from xinqiao.access.scope import Principal

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# A mentor's current mentees (the access layer's MENTOR_STUDENTS scope), and the students an
# assigner may give a mentor (the school leader's school, a head teacher's class).
MENTEES = student_source("mentoring-mentee", cap=Cap.MENTOR_STUDENTS, tier=Tier.T1)
ASSIGNABLE = student_source("mentoring-student", cap=Cap.MANAGE_MENTORS, tier=Tier.T1)


def _teacher_choices(teachers: list[Any]) -> list[tuple[str, str]]:
    return [(str(u.pk), display_name(u)) for u in teachers]


class TalkForm(ClientKeyMixin):
    student = PickerField(MENTEES, label=_("Mentee"))
    held_on = forms.DateField(label=_("Date of the talk"), widget=DATE)
    topic = forms.ChoiceField(label=_("Topic"), choices=TalkTopic.choices)
    note = forms.CharField(
        label=_("Short note"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only you and the school's psychology teachers can read it."),
    )
    worried = forms.BooleanField(
        label=_("I am worried about the student"),
        required=False,
        help_text=_("A worried talk is reported to the school's psychology teachers at once."),
    )

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)
        if not self.is_bound:
            self.initial.setdefault("held_on", timezone.localdate())


class AssignForm(forms.Form):
    student = PickerField(ASSIGNABLE, label=_("Student"))
    mentor = forms.ChoiceField(label=_("Mentor"))

    def __init__(
        self, *args: Any, principal: Principal, teachers: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)
        self.teachers = {str(u.pk): u for u in teachers}
        self.fields["mentor"].choices = _teacher_choices(teachers)  # type: ignore[attr-defined]

    def clean_mentor(self) -> Any:
        return self.teachers[self.cleaned_data["mentor"]]


class ClassAssignForm(forms.Form):
    """One school's teachers: a small list, plain check boxes (docs/pickers.md)."""

    mentors = forms.MultipleChoiceField(
        label=_("Mentors"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "The class's students without a mentor are spread evenly over the teachers you tick; "
            "students who have a mentor keep them."
        ),
    )

    def __init__(self, *args: Any, teachers: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.teachers = {str(u.pk): u for u in teachers}
        self.fields["mentors"].choices = _teacher_choices(teachers)  # type: ignore[attr-defined]

    def clean_mentors(self) -> list[Any]:
        return [self.teachers[pk] for pk in self.cleaned_data["mentors"]]
