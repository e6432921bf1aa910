"""Forms of group programmes, the hotline log and case conferences; they validate input only
(services_groups decides). Students, classes and staff are chosen with searchable pickers."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xinqiao.access.pickers import (
    PickerField,
    PickerMultipleField,
    bind_pickers,
    staff_source,
    student_source,
    unit_source,
)
from xinqiao.access.roles import Cap, Role, Tier
from xinqiao.core.forms import ClientKeyMixin
from xinqiao.orgs.models import Kind

from .forms import DATE
from .models import (
    CallChannel,
    CallerKind,
    CallOutcome,
    CallRisk,
    ConcernCode,
    GroupKind,
    Room,
)

if TYPE_CHECKING:
    from xinqiao.access.scope import Principal

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

# The students and classes a counsellor may add to a group or name on a call: their COUNSEL
# grants' areas (a school's psychology teacher: the school; a station: its district).
COUNSEL_STUDENTS = student_source("counselling-counsel-student", cap=Cap.COUNSEL, tier=Tier.T1)
COUNSEL_CLASSES = unit_source("counselling-counsel-class", cap=Cap.COUNSEL, kinds=[Kind.CLASS])
COUNSELLING_STAFF = staff_source("counselling-staff", cap=Cap.VIEW_COUNSELLING)


def _counselling_staff(principal: Principal) -> Any:
    """The staff of the scope who counsel (a psychology teacher's or a station counsellor's
    role): a programme's facilitators are among its unit's counsellors, so the picker offers
    nobody else however many staff the city has."""
    from xinqiao.access.models import RoleAssignment

    counsel = RoleAssignment.objects.active().filter(
        role__in=[Role.PSYCHOLOGY_TEACHER, Role.STATION_COUNSELLOR]
    )
    return (
        principal.staff(Cap.VIEW_COUNSELLING)
        .filter(is_active=True)
        .filter(user_id__in=counsel.values("user_id"))
    )


FACILITATORS = staff_source(
    "counselling-facilitator", cap=Cap.VIEW_COUNSELLING, scope=_counselling_staff
)


def _users(staff: Any) -> list[Any]:
    return [s.user for s in staff if s.user_id is not None]


class ProgrammeForm(forms.Form):
    theme = forms.CharField(label=_("Theme"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=GroupKind.choices)
    description = forms.CharField(
        label=_("Description"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The programme's aims and plan; nothing about a student."),
    )
    facilitators = PickerMultipleField(FACILITATORS, label=_("Facilitators"))

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)

    def clean_facilitators(self) -> list[Any]:
        return _users(self.cleaned_data["facilitators"])


class MembersForm(forms.Form):
    students = PickerMultipleField(COUNSEL_STUDENTS, label=_("Students"), required=False)
    school_class = PickerField(COUNSEL_CLASSES, label=_("Or a whole class"), required=False)

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)


class SessionForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("Starts at"), widget=DATETIME)
    minutes = forms.IntegerField(label=_("Minutes"), min_value=10, max_value=240, initial=60)
    room = forms.ModelChoiceField(label=_("Room"), queryset=Room.objects.none(), required=False)

    def __init__(self, *args: Any, rooms: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = rooms  # type: ignore[attr-defined]

    def times(self) -> tuple[datetime.datetime, datetime.datetime]:
        starts = self.cleaned_data["starts_at"]
        return starts, starts + datetime.timedelta(minutes=self.cleaned_data["minutes"])


class SessionRecordForm(forms.Form):
    record = forms.CharField(
        label=_("Short record"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    present = forms.MultipleChoiceField(
        label=_("Present"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, members: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["present"].choices = [  # type: ignore[attr-defined]
            (str(m.student_id), m.student.name) for m in members
        ]


class CallForm(ClientKeyMixin):
    channel = forms.ChoiceField(label=_("Channel"), choices=CallChannel.choices)
    started_at = forms.DateTimeField(label=_("Start"), widget=DATETIME)
    minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=1, max_value=600)
    caller_kind = forms.ChoiceField(label=_("Caller"), choices=CallerKind.choices)
    anonymous = forms.BooleanField(label=_("Anonymous caller"), required=False, initial=True)
    student = PickerField(COUNSEL_STUDENTS, label=_("Student"), required=False)
    student_number = forms.CharField(
        label=_("Or the national student number"),
        max_length=40,
        required=False,
        help_text=_("For a student your station does not see: the number and the name."),
    )
    student_name = forms.CharField(label=_("Student's name"), max_length=40, required=False)
    concern_code = forms.ChoiceField(label=_("Concern"), choices=ConcernCode.choices)
    concern = forms.CharField(
        label=_("What the caller told"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    risk = forms.ChoiceField(label=_("Risk"), choices=CallRisk.choices)
    outcome = forms.ChoiceField(
        label=pgettext_lazy("hotline call", "Outcome"), choices=CallOutcome.choices
    )
    follow_up = forms.CharField(
        label=_("Follow-up"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    follow_up_on = forms.DateField(label=_("Follow up on"), widget=DATE, required=False)
    raise_alert = forms.BooleanField(
        label=_("Raise an alert at the risk's level (identified student)"), required=False
    )

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)
        if not self.is_bound:
            now = timezone.localtime().replace(second=0, microsecond=0)
            self.initial.setdefault("started_at", now)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("anonymous") and not (
            data.get("student") or (data.get("student_number") or "").strip()
        ):
            self.add_error("student", _("An identified caller's student: pick or give the number."))
        return data


class ConferenceForm(ClientKeyMixin):
    held_on = forms.DateField(label=_("Date"), widget=DATE)
    participants = PickerMultipleField(
        COUNSELLING_STAFF, label=pgettext_lazy("case conference", "Participants")
    )
    question = forms.CharField(
        label=_("The question"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    presentation = forms.CharField(
        label=_("Case presentation (de-identified)"),
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("No name, class, school or other detail that identifies the student."),
    )
    advice = forms.CharField(
        label=_("Advice"), max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)

    def clean_participants(self) -> list[Any]:
        return _users(self.cleaned_data["participants"])


class AdviceForm(forms.Form):
    advice = forms.CharField(
        label=pgettext_lazy("case conference", "Advice"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ActionForm(forms.Form):
    text = forms.CharField(label=pgettext_lazy("conference follow-up", "Action"), max_length=1000)
    owner = forms.ChoiceField(label=_("Owner"))
    due_on = forms.DateField(label=_("Due"), widget=DATE)

    def __init__(self, *args: Any, people: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from .forms import _user_choices

        self.people = {str(u.pk): u for u in people}
        self.fields["owner"].choices = _user_choices(people)  # type: ignore[attr-defined]

    def clean_owner(self) -> Any:
        return self.people[self.cleaned_data["owner"]]
