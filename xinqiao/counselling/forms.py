"""Forms of the counselling service; they validate input only (the services decide)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xinqiao.access.pickers import PickerField, bind_pickers, student_source
from xinqiao.access.roles import Cap, Tier

from .models import (
    AvailabilityKind,
    BreakReason,
    CancelReason,
    Channel,
    ConcernCode,
    DutySlot,
    ExceptionKind,
    InterventionCode,
    RiskLevel,
    Room,
    RoomKind,
    Weekday,
)

if TYPE_CHECKING:
    from xinqiao.access.scope import Principal

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")

# The students one may book for: a head teacher's class, a psychology teacher's school, a
# station's district (the scope's BOOK_COUNSELLING grants).
BOOKING_STUDENTS = student_source("counselling-student", cap=Cap.BOOK_COUNSELLING, tier=Tier.T1)


def _user_choices(users: list[Any]) -> list[tuple[str, str]]:
    def label(user: Any) -> str:
        staff = getattr(user, "staff", None)
        return str(staff.name) if staff is not None else user.get_full_name() or user.username

    return [(str(u.pk), label(u)) for u in users]


class RoomForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    kind = forms.ChoiceField(label=_("Kind"), choices=RoomKind.choices)
    capacity = forms.IntegerField(label=_("Capacity"), min_value=1, max_value=200, initial=1)


class DutySlotForm(forms.Form):
    counsellor = forms.ChoiceField(label=_("Counsellor on duty"))
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=Weekday.choices, coerce=int)
    starts = forms.TimeField(label=_("From"), widget=TIME)
    ends = forms.TimeField(label=_("Until"), widget=TIME)
    room = forms.ModelChoiceField(label=_("Room"), queryset=Room.objects.none(), required=False)
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE, required=False)
    valid_until = forms.DateField(label=_("Valid until"), widget=DATE, required=False)

    def __init__(self, *args: Any, counsellors: list[Any], rooms: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counsellors = {str(u.pk): u for u in counsellors}
        self.fields["counsellor"].choices = _user_choices(counsellors)  # type: ignore[attr-defined]
        self.fields["room"].queryset = rooms  # type: ignore[attr-defined]

    def clean_counsellor(self) -> Any:
        return self.counsellors[self.cleaned_data["counsellor"]]


class DutyExceptionForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=DATE)
    kind = forms.ChoiceField(label=pgettext_lazy("roster", "Change"), choices=ExceptionKind.choices)
    slot = forms.ModelChoiceField(
        label=pgettext_lazy("roster", "Duty"),
        queryset=DutySlot.objects.none(),
        required=False,
        help_text=_("Leave empty to close the whole day."),
    )
    substitute = forms.ChoiceField(label=_("Substitute"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args: Any, counsellors: list[Any], slots: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counsellors = {str(u.pk): u for u in counsellors}
        self.fields["substitute"].choices = [("", "—"), *_user_choices(counsellors)]  # type: ignore[attr-defined]
        self.fields["slot"].queryset = slots  # type: ignore[attr-defined]
        self.fields["slot"].label_from_instance = (  # type: ignore[attr-defined]
            lambda s: f"{s} · {_user_choices([s.counsellor])[0][1]}"
        )

    def clean_substitute(self) -> Any:
        return self.counsellors.get(self.cleaned_data.get("substitute") or "")


class AvailabilityForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=AvailabilityKind.choices)
    weekday = forms.TypedChoiceField(
        label=_("Weekday"),
        choices=[("", "—"), *Weekday.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    date = forms.DateField(label=_("Date"), widget=DATE, required=False)
    starts = forms.TimeField(label=_("From"), widget=TIME)
    ends = forms.TimeField(label=_("Until"), widget=TIME)
    slot_minutes = forms.IntegerField(
        label=_("Minutes per appointment"), min_value=10, max_value=240, initial=50
    )
    room = forms.ModelChoiceField(label=_("Room"), queryset=Room.objects.none(), required=False)

    def __init__(self, *args: Any, rooms: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = rooms  # type: ignore[attr-defined]


class BookingForm(forms.Form):
    """Step one: the student, the counsellor and the day (then the free times of that day)."""

    student = PickerField(BOOKING_STUDENTS, label=_("Student"))
    counsellor = forms.ChoiceField(label=_("Counsellor"))
    day = forms.DateField(
        label=pgettext_lazy("booking", "Day"), widget=DATE, initial=timezone.localdate
    )
    # The free times of the chosen day: set by the view once it knows them (set_slots); the view
    # checks the posted one against them.
    slot = forms.CharField(label=_("Time"), required=False, widget=forms.RadioSelect)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=Channel.choices, initial=Channel.FACE_TO_FACE
    )
    meeting_link = forms.URLField(label=_("Meeting link"), required=False, assume_scheme="https")

    def __init__(
        self, *args: Any, principal: Principal, counsellors: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)
        self.counsellors = {str(u.pk): u for u in counsellors}
        self.fields["counsellor"].choices = _user_choices(counsellors)  # type: ignore[attr-defined]

    def set_slots(self, slots: list[Any]) -> None:
        self.free = {s.starts_at.isoformat(): s for s in slots}
        self.fields["slot"].widget.choices = [  # type: ignore[attr-defined]
            (key, timezone.localtime(s.starts_at).strftime("%H:%M")) for key, s in self.free.items()
        ]

    def clean_counsellor(self) -> Any:
        return self.counsellors[self.cleaned_data["counsellor"]]


class CounsellorBookingForm(forms.Form):
    """A counsellor books their own time: any start and length."""

    student = PickerField(BOOKING_STUDENTS, label=_("Student"))
    starts_at = forms.DateTimeField(
        label=_("Starts at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    minutes = forms.IntegerField(label=_("Minutes"), min_value=10, max_value=240, initial=50)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=Channel.choices, initial=Channel.FACE_TO_FACE
    )
    room = forms.ModelChoiceField(label=_("Room"), queryset=Room.objects.none(), required=False)
    meeting_link = forms.URLField(label=_("Meeting link"), required=False, assume_scheme="https")

    def __init__(self, *args: Any, principal: Principal, rooms: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)
        self.fields["room"].queryset = rooms  # type: ignore[attr-defined]

    def times(self) -> tuple[datetime.datetime, datetime.datetime]:
        starts = self.cleaned_data["starts_at"]
        return starts, starts + datetime.timedelta(minutes=self.cleaned_data["minutes"])


class CancelForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=CancelReason.choices)
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        help_text=_("Short, and nothing about the student's health."),
    )


class RescheduleForm(CancelForm):
    starts_at = forms.DateTimeField(
        label=_("New time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class SettingsForm(forms.Form):
    confirm_bookings = forms.BooleanField(
        label=_("The counsellor confirms every booking"), required=False
    )


# --- sessions, confidentiality and supervision ----------------------------------------------------
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class SessionForm(forms.Form):
    """A session's record. From an appointment the student, time and channel come from it (the
    view drops those fields)."""

    client_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    student = PickerField(BOOKING_STUDENTS, label=_("Student"))
    starts_at = forms.DateTimeField(label=_("Date and start"), widget=DATETIME)
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[c for c in Channel.choices if c[0] != Channel.GROUP],
        initial=Channel.FACE_TO_FACE,
    )
    minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=5, max_value=480, initial=50
    )
    concerns = forms.MultipleChoiceField(
        label=_("Presenting concern"),
        choices=ConcernCode.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    concern_text = forms.CharField(
        label=_("Presenting concern, in words"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    risk_found = forms.BooleanField(label=_("Risk found in the risk check"), required=False)
    risk_level = forms.ChoiceField(
        label=_("The level it suggests"),
        choices=[("", "—"), *RiskLevel.choices],
        required=False,
    )
    interventions = forms.MultipleChoiceField(
        label=_("Interventions used"),
        choices=InterventionCode.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    plan = forms.CharField(
        label=pgettext_lazy("counselling session", "Plan"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    summary = forms.CharField(
        label=_("Summary"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Short: what the case team of a high-care student may read."),
    )
    notes = forms.CharField(
        label=_("Process notes"),
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        help_text=_("Only you and your supervisor can read them."),
    )
    next_starts_at = forms.DateTimeField(
        label=_("Next appointment"), widget=DATETIME, required=False
    )
    next_minutes = forms.IntegerField(
        label=_("Next appointment's minutes"), min_value=10, max_value=240, initial=50
    )

    def __init__(self, *args: Any, principal: Principal, from_appointment: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)
        if from_appointment:
            for name in ("student", "starts_at", "channel"):
                del self.fields[name]


class BreakForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=BreakReason.choices)
    reason_text = forms.CharField(
        label=_("Why, in words"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    disclosed_to = forms.CharField(
        label=_("Disclosed to"),
        max_length=300,
        help_text=_("For example: the guardian, the school leader, the police."),
    )
    disclosed_at = forms.DateTimeField(label=_("Disclosed at"), widget=DATETIME)


class SupervisionAskForm(forms.Form):
    client_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    supervisor = forms.ChoiceField(label=_("Supervisor"))
    sessions = forms.MultipleChoiceField(label=_("Sessions"), widget=forms.CheckboxSelectMultiple)
    question = forms.CharField(
        label=_("Your question"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000
    )

    def __init__(self, *args: Any, supervisors: list[Any], sessions: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.supervisors = {str(u.pk): u for u in supervisors}
        self.session_rows = {str(s.code): s for s in sessions}
        self.fields["supervisor"].choices = _user_choices(supervisors)  # type: ignore[attr-defined]
        self.fields["sessions"].choices = [  # type: ignore[attr-defined]
            (
                str(s.code),
                f"{timezone.localtime(s.starts_at):%Y-%m-%d %H:%M} · {s.student.name}",
            )
            for s in sessions
        ]

    def clean_supervisor(self) -> Any:
        return self.supervisors[self.cleaned_data["supervisor"]]

    def clean_sessions(self) -> list[Any]:
        return [self.session_rows[c] for c in self.cleaned_data["sessions"]]


class SupervisionAdviceForm(forms.Form):
    advice = forms.CharField(label=_("Advice"), widget=forms.Textarea(attrs={"rows": 5}))
    actions = forms.CharField(
        label=_("Follow-up actions"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    minutes = forms.IntegerField(
        label=_("Time spent (minutes)"), min_value=5, max_value=600, initial=60
    )


class RoomHoursForm(forms.Form):
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=Weekday.choices, coerce=int)
    starts = forms.TimeField(label=_("From"), widget=TIME)
    ends = forms.TimeField(label=_("Until"), widget=TIME)


class WaitlistForm(forms.Form):
    """Join the waitlist of a counsellor (or any counsellor of the school) for a week."""

    student = PickerField(BOOKING_STUDENTS, label=_("Student"))
    counsellor = forms.ChoiceField(label=_("Counsellor"), required=False)
    week = forms.DateField(
        label=_("Week of"),
        widget=DATE,
        initial=timezone.localdate,
        help_text=_("Any day of the week you wait for."),
    )

    def __init__(
        self, *args: Any, principal: Principal, counsellors: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)
        self.counsellors = {str(u.pk): u for u in counsellors}
        self.fields["counsellor"].choices = [  # type: ignore[attr-defined]
            ("", _("Any counsellor of the school")),
            *_user_choices(counsellors),
        ]

    def clean_counsellor(self) -> Any:
        return self.counsellors.get(self.cleaned_data.get("counsellor") or "")
