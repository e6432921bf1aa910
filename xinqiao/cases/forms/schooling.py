"""Forms of suspension and return, transfers, sweeps and incidents. Creates carry a hidden retry
key (`ClientKeyMixin`), so a double submit records once."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinqiao.access.scope import Principal
from xinqiao.core.forms import ClientKeyMixin
from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Student
from xinqiao.screening.models import CampaignKind

from ..models import SweepKind
from ..selectors import schooling as sel
from ..services import sweeps as sweep_services


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a list (the service checks what is required)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        items = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(MultipleFileField, self).clean(item, initial) for item in items if item]


def _field(form: forms.Form, name: str) -> Any:
    """A form field, typed loosely (choice fields get their querysets per request)."""
    return form.fields[name]


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _text(rows: int = 4) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class SuspensionForm(ClientKeyMixin):
    reason = forms.CharField(label=_("Reason"), widget=_text(), max_length=4000)
    effective_on = forms.DateField(
        label=_("Suspended from"), widget=_date_input(), initial=timezone.localdate
    )
    expected_until = forms.DateField(
        label=_("Expected until"), widget=_date_input(), required=False
    )
    documents = MultipleFileField(label=_("Medical documents (PDF, JPEG or PNG; several allowed)"))


class ReturnForm(ClientKeyMixin):
    # Optional here on purpose: the service names every missing piece at once.
    returned_on = forms.DateField(
        label=_("Returns on"),
        widget=_date_input(),
        initial=timezone.localdate,
        required=False,
    )
    medical_opinion = forms.CharField(
        label=_("Medical opinion (what the doctor advised)"),
        widget=_text(),
        required=False,
        max_length=4000,
    )
    opinion_documents = MultipleFileField(
        label=_("Medical opinion document (the doctor's certificate)")
    )
    return_assessment = forms.CharField(
        label=_("Return assessment by the psychology teacher"),
        widget=_text(),
        required=False,
        max_length=4000,
    )
    return_plan = forms.CharField(
        label=_("Return plan (support in the first weeks)"),
        widget=_text(),
        required=False,
        max_length=4000,
    )


class TransferRequestForm(forms.Form):
    handover_note = forms.CharField(
        label=_("Handover note for the receiving psychology teacher"),
        widget=_text(6),
        max_length=6000,
    )


def _numbers(text: str) -> list[str]:
    return [part for part in text.replace(",", "\n").replace("，", "\n").split() if part]


class _SchoolGroupForm(ClientKeyMixin):
    """A school (preselected when the user has one) and a group of its students."""

    school = forms.ModelChoiceField(queryset=OrgUnit.objects.none(), label=_("School"))

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schools = sel.handled_schools(principal)
        _field(self, "school").queryset = schools
        only = list(schools[:2])
        if len(only) == 1:
            _field(self, "school").initial = only[0].pk
            self.fields["school"].widget = forms.HiddenInput()
        classes = sel.school_classes_of(schools)
        for name in self.class_fields:
            _field(self, name).queryset = classes
            _field(self, name).label_from_instance = _class_label

    class_fields: tuple[str, ...] = ()

    def students_from(self, field: str) -> list[Any]:
        school = self.cleaned_data.get("school")
        numbers = _numbers(self.cleaned_data.get(field) or "")
        if school is None or not numbers:
            return []
        found, missing = sel.students_by_number(school, numbers)
        if missing:
            self.add_error(
                field,
                _("Not found among the school's students: %(numbers)s")
                % {"numbers": ", ".join(missing)},
            )
        return found


def _class_label(unit: Any) -> str:
    return f"{unit.parent.name} {unit.name}" if unit.parent_id else unit.name


class SweepForm(_SchoolGroupForm):
    class_fields = ("rescreen_classes",)

    kind = forms.ChoiceField(label=_("Special period"), choices=SweepKind.choices)
    title = forms.CharField(label=_("Title"), max_length=120)
    review_by = forms.DateField(label=_("Review every open case by"), widget=_date_input())
    rescreen_classes = forms.ModelMultipleChoiceField(
        queryset=OrgUnit.objects.none(),
        label=_("Re-screen these classes (optional)"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    rescreen_numbers = forms.CharField(
        label=_("…and/or these students (national student numbers, one a line)"),
        widget=_text(3),
        required=False,
    )
    campaign_kind = forms.ChoiceField(
        label=_("Kind of re-screen"),
        choices=[
            ("", _("Matching the special period")),
            *[(k, CampaignKind(k).label) for k in sweep_services.RESCREEN_KINDS],
        ],
        required=False,
    )


class SweepReviewForm(forms.Form):
    note = forms.CharField(label=_("What the review found"), widget=_text(2))


class IncidentForm(_SchoolGroupForm):
    class_fields = ("classes",)

    title = forms.CharField(label=_("Title"), max_length=120)
    occurred_on = forms.DateField(label=_("Date"), widget=_date_input(), initial=timezone.localdate)
    description = forms.CharField(label=_("What happened"), widget=_text(5))
    classes = forms.ModelMultipleChoiceField(
        queryset=OrgUnit.objects.none(),
        label=_("Affected classes (every student of the class)"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    student_numbers = forms.CharField(
        label=_("…and/or affected students (national student numbers, one a line)"),
        widget=_text(3),
        required=False,
    )
    start_campaign = forms.BooleanField(
        label=_("Start a follow-up screening for the affected students now"),
        required=False,
        initial=True,
    )
    campaign_closes_on = forms.DateField(
        label=_("Follow-up screening closes on"),
        widget=_date_input(),
        required=False,
        initial=lambda: timezone.localdate() + datetime.timedelta(days=14),
    )


class IncidentCampaignForm(forms.Form):
    closes_on = forms.DateField(
        label=_("Follow-up screening closes on"),
        widget=_date_input(),
        initial=lambda: timezone.localdate() + datetime.timedelta(days=14),
    )


class GroupSessionForm(ClientKeyMixin):
    held_at = forms.DateTimeField(
        label=_("Held at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )
    facilitator = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(), label=_("Facilitator")
    )
    topic = forms.CharField(label=_("Topic"), max_length=120)
    participants = forms.ModelMultipleChoiceField(
        queryset=Student.objects.none(),
        label=_("Participants (from the affected group)"),
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(label=_("Note"), widget=_text(3), required=False)

    def __init__(self, *args: Any, incident: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = sel.facilitators(incident.school)
        _field(self, "facilitator").queryset = people
        _field(self, "facilitator").label_from_instance = _user_label
        _field(self, "facilitator").initial = user.pk
        affected = sel.affected_students(incident)
        _field(self, "participants").queryset = affected
        _field(self, "participants").label_from_instance = _student_label
        _field(self, "participants").initial = [s.pk for s in affected]


def _user_label(user: Any) -> str:
    staff = getattr(user, "staff", None)
    return staff.name if staff is not None else user.get_username()


def _student_label(student: Any) -> str:
    cls = student.school_class.name if student.school_class_id else ""
    return f"{student.name} ({cls})" if cls else student.name
