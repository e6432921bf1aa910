"""Forms for the helpline directory, crisis teams, plans and drills. They validate input only;
services write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import CrisisTeam, Hotline, PlanKind, TeamRole, validate_phone_number

DATE = forms.DateInput(attrs={"type": "date"})


class HotlineForm(forms.ModelForm):
    class Meta:
        model = Hotline
        fields = ["name", "number", "hours", "audience", "note", "order"]
        help_texts = {
            "hours": _("e.g. 24 hours, or 8:00–22:00"),
            "audience": _("e.g. students and parents"),
            "order": _("Lower numbers are shown first."),
        }


class TeamForm(forms.ModelForm):
    class Meta:
        model = CrisisTeam
        fields = ["name", "duty_phone", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}


class MemberForm(forms.Form):
    staff = forms.ModelChoiceField(
        label=_("Staff member"),
        queryset=None,
        required=False,
        help_text=_("Or leave empty and enter an outside person below."),
    )
    name = forms.CharField(label=_("Name (outside person)"), max_length=60, required=False)
    organisation = forms.CharField(label=_("Organisation"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("Phone"), max_length=20, required=False, validators=[validate_phone_number]
    )
    role = forms.ChoiceField(label=_("Role"), choices=TeamRole.choices)
    started_on = forms.DateField(label=_("From"), widget=DATE, initial=timezone.localdate)

    def __init__(self, *args: Any, staff: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["staff"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = staff
        field.label_from_instance = lambda s: f"{s.name}（{s.org_unit.name}）"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("staff") and not (data.get("name") or "").strip():
            self.add_error("name", _("Choose a staff member or enter the person's name."))
        return data


class EndMemberForm(forms.Form):
    ended_on = forms.DateField(label=_("Until"), widget=DATE, initial=timezone.localdate)


class _DocumentFields(forms.Form):
    document = forms.FileField(label=_("Plan document"), help_text=_("PDF or Word, at most 20 MB."))
    effective_on = forms.DateField(label=_("In force from"), widget=DATE)
    summary = forms.CharField(
        label=_("What changed"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PlanForm(_DocumentFields):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None)
    title = forms.CharField(label=_("Title"), max_length=150)
    kind = forms.ChoiceField(label=_("Kind"), choices=PlanKind.choices)

    field_order = ["unit", "title", "kind", "document", "effective_on", "summary"]

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = units
        field.label_from_instance = lambda u: u.name


class VersionForm(_DocumentFields):
    pass


class DrillForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None)
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=None, required=False)
    held_on = forms.DateField(label=_("Date"), widget=DATE)
    scenario = forms.CharField(label=_("Scenario"), widget=forms.Textarea(attrs={"rows": 2}))
    participants = forms.CharField(
        label=_("Participants"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Who took part: teams, schools, roles."),
    )
    participant_count = forms.IntegerField(label=_("Number of participants"), min_value=0)
    findings = forms.CharField(
        label=_("Findings"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, units: Any, plans: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit_field, plan_field = self.fields["unit"], self.fields["plan"]
        assert isinstance(unit_field, forms.ModelChoiceField)
        assert isinstance(plan_field, forms.ModelChoiceField)
        unit_field.queryset = units
        unit_field.label_from_instance = lambda u: u.name
        plan_field.queryset = plans
        plan_field.label_from_instance = lambda p: f"{p.title}（{p.unit.name}）"


class ArrangementForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("Emergency plan"), queryset=None, required=False)
    team = forms.ModelChoiceField(
        label=_("Crisis-intervention team"), queryset=None, required=False
    )

    def __init__(self, *args: Any, plans: Any, teams: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plan_field, team_field = self.fields["plan"], self.fields["team"]
        assert isinstance(plan_field, forms.ModelChoiceField)
        assert isinstance(team_field, forms.ModelChoiceField)
        plan_field.queryset = plans
        plan_field.label_from_instance = lambda p: f"{p.title}（{p.unit.name}）"
        team_field.queryset = teams
        team_field.label_from_instance = lambda t: f"{t.name}（{t.unit.name}）"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("plan") and not data.get("team"):
            raise forms.ValidationError(_("Choose a plan, a team or both."))
        return data
