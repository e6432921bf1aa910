"""Forms of the care pages: team, support plan, follow-up, guardian contact, acknowledgement.
Creates carry a hidden retry key (`ClientKeyMixin`), so a double submit records once."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinqiao.alerts.models import Level
from xinqiao.core.forms import ClientKeyMixin

from ..models import ConsentAnswer, ContactMethod, FollowUpMethod, Trend
from ..selectors import care as selectors

_DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _now_local() -> str:
    return timezone.localtime().strftime(_DATETIME_FORMAT)


def _datetime_field(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=[_DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format=_DATETIME_FORMAT
        ),
    )


def _textarea(rows: int = 4) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "class": "form-control"})


def level_label(tier: int) -> str:
    return _("level %(tier)s") % {"tier": tier}


class TeamMemberForm(forms.Form):
    member = forms.ChoiceField(
        label=_("Person and role"), widget=forms.Select(attrs={"class": "form-select"})
    )
    task = forms.CharField(
        label=_("Task"),
        required=False,
        max_length=300,
        widget=_textarea(2),
        help_text=_(
            "What this person is asked to do; they see this text, so write no clinical details. "
            "Leave empty for the standard task of their role. Class psychology committee members "
            "always get the fixed task."
        ),
    )

    def __init__(self, *args: Any, candidates: list[selectors.Candidate], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candidates = {c.key: c for c in candidates}
        cast(forms.ChoiceField, self.fields["member"]).choices = [("", "—")] + [
            (c.key, f"{c.name} — {c.role_label} ({level_label(c.tier)})") for c in candidates
        ]

    def clean_member(self) -> selectors.Candidate:
        candidate = self.candidates.get(self.cleaned_data["member"])
        if candidate is None:
            raise forms.ValidationError(_("Choose a person and their role."))
        return candidate


class SupportPlanForm(forms.Form):
    goal = forms.CharField(label=_("Goal"), widget=_textarea(3), max_length=2000)
    actions = forms.CharField(label=_("Actions"), widget=_textarea(5), max_length=4000)
    owner = forms.TypedChoiceField(
        label=_("Owner"), coerce=int, widget=forms.Select(attrs={"class": "form-select"})
    )
    review_on = forms.DateField(
        label=_("Review date"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, owners: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owners = {u.pk: u for u in owners}
        cast(forms.ChoiceField, self.fields["owner"]).choices = [
            (u.pk, selectors.person_name(u)) for u in owners
        ]

    def clean_owner(self) -> Any:
        return self.owners[self.cleaned_data["owner"]]


class FollowUpForm(ClientKeyMixin):
    done_at = _datetime_field(_("When"))
    method = forms.ChoiceField(
        label=_("How"),
        choices=FollowUpMethod.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    trend = forms.ChoiceField(
        label=_("Since last time"),
        choices=Trend.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    risk_signs = forms.BooleanField(
        label=_("Signs of risk (thoughts, plan, means)"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
        help_text=_("Ticking this raises an orange alert for verification and tells the owner."),
    )
    note = forms.CharField(label=_("Note"), widget=_textarea(5), max_length=4000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("done_at", _now_local())


class GuardianContactForm(ClientKeyMixin):
    guardian = forms.TypedChoiceField(
        label=_("Guardian"),
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    method = forms.ChoiceField(
        label=_("How"),
        choices=ContactMethod.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    contacted_at = _datetime_field(_("When"))
    what_was_said = forms.CharField(label=_("What was said"), widget=_textarea(4), max_length=4000)
    guardian_response = forms.CharField(
        label=_("Guardian's response"), widget=_textarea(3), required=False, max_length=4000
    )
    consent = forms.ChoiceField(
        label=_("Consent"),
        choices=ConsentAnswer.choices,
        initial=ConsentAnswer.NOT_ASKED,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    informed_of_level = forms.ChoiceField(
        label=_("Guardian informed of the level"),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    acknowledgement = forms.FileField(
        label=_("Signed acknowledgement (PDF, JPEG or PNG, at most 10 MB)"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": "application/pdf,image/jpeg,image/png"}
        ),
        help_text=_("Required when the guardian is informed of a red level."),
    )
    acknowledgement_later = forms.BooleanField(
        label=_("The signed acknowledgement will be uploaded later"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args: Any, guardians: list[selectors.GuardianRow], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guardians = {row.guardian.pk: row.guardian for row in guardians}
        cast(forms.ChoiceField, self.fields["guardian"]).choices = [
            ("", _("Other / not on record"))
        ] + [(row.guardian.pk, row.label) for row in guardians]
        cast(forms.ChoiceField, self.fields["informed_of_level"]).choices = [
            ("", _("Not informed of a level")),
            *Level.choices,
        ]
        if not self.is_bound:
            self.initial.setdefault("contacted_at", _now_local())
            self.initial.setdefault("informed_of_level", "")
            if guardians:
                self.initial.setdefault("guardian", guardians[0].guardian.pk)

    def clean_guardian(self) -> Any:
        pk = self.cleaned_data["guardian"]
        return None if pk is None else self.guardians[pk]


class AcknowledgementForm(forms.Form):
    file = forms.FileField(
        label=_("Signed acknowledgement (PDF, JPEG or PNG, at most 10 MB)"),
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": "application/pdf,image/jpeg,image/png"}
        ),
    )
