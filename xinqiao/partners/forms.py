from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinqiao.access.forms import AccountForm
from xinqiao.access.pickers import PickerField, bind_pickers, unit_source
from xinqiao.access.roles import Cap
from xinqiao.orgs.models import Kind

from . import selectors
from .models import Department, Purpose
from .services import MAX_GRANT_DAYS

if TYPE_CHECKING:
    from xinqiao.access.scope import Principal


def _person(user: Any) -> str:
    return user.get_full_name() or user.first_name or user.get_username()


class DepartmentAccountForm(AccountForm):
    department = forms.ChoiceField(label=_("Department"), choices=Department.choices)
    org_unit: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Area"), queryset=None, empty_label=None
    )

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["org_unit"]
        field.queryset = selectors.department_units(principal=principal)


class InviteExpertForm(forms.Form):
    expert: forms.ModelChoiceField[Any] = forms.ModelChoiceField(label=_("Expert"), queryset=None)
    purpose = forms.ChoiceField(
        label=_("Purpose"), choices=Purpose.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
    days = forms.IntegerField(
        label=_("Access for (days)"), min_value=1, max_value=MAX_GRANT_DAYS, initial=7
    )

    def __init__(self, *args: Any, case: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["expert"]
        field.queryset = selectors.expert_users(case=case)
        pool = {e.user_id: e for e in selectors.pool_experts(case=case)}
        field.label_from_instance = lambda user: _pool_label(pool.get(user.pk), user)
        field.help_text = _(
            "Members of the expert pool of the city or the school's district who have an account."
        )


def _pool_label(expert: Any, user: Any) -> str:
    if expert is None:
        return _person(user)
    parts = [expert.name, expert.expertise, expert.affiliation or expert.owner.name]
    return " · ".join(p for p in parts if p)


AREA_UNITS = unit_source(
    "hospital-area-unit", cap=Cap.MANAGE_HOSPITAL_AREAS, kinds=(Kind.DISTRICT, Kind.SCHOOL)
)


class HospitalAreaForm(forms.Form):
    hospital: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Hospital"), queryset=None
    )
    psychiatrist: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Psychiatrist (optional)"), queryset=None, required=False
    )
    area = PickerField(AREA_UNITS, label=_("Area (a district or a school)"))
    started_on = forms.DateField(
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        initial=timezone.localdate,
    )

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hospitals = selectors.hospitals_in(principal=principal)
        field: Any = self.fields["hospital"]
        field.queryset = hospitals
        psychiatrist: Any = self.fields["psychiatrist"]
        psychiatrist.queryset = selectors.psychiatrists_in(hospitals)
        psychiatrist.label_from_instance = _person
        bind_pickers(self, principal)


class PlanAdviceForm(forms.Form):
    advice = forms.CharField(
        label=_("Advice for the support plan"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    review_on = forms.DateField(
        label=_("Review date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


TIP_SCHOOLS = unit_source(
    "tip-school",
    cap=Cap.FILE_MONITORING_TIP,
    scope=lambda principal: selectors.tip_schools(principal=principal),
)


class OnlineTipForm(forms.Form):
    """A 网信 officer's tip: the school, then the 学籍号 or the name and class (no student list,
    no picker of students: the officer never sees who is enrolled)."""

    school = PickerField(TIP_SCHOOLS, label=_("School"))
    student_number = forms.CharField(
        label=_("National student number (学籍号)"), max_length=40, required=False
    )
    name = forms.CharField(label=_("Student's name"), max_length=60, required=False)
    class_name = forms.CharField(
        label=_("Class"),
        max_length=40,
        required=False,
        help_text=_("For example 七年级(1)班 or 初二3班; not needed with the 学籍号."),
    )
    what_seen = forms.CharField(
        label=_("What was seen online"), widget=forms.Textarea(attrs={"rows": 4}), max_length=2000
    )
    seen_on = forms.DateField(
        label=_("When"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        initial=timezone.localdate,
    )
    urgency = forms.ChoiceField(label=_("How urgent"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        from xinqiao.alerts.models import Urgency

        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)
        urgency: Any = self.fields["urgency"]
        urgency.choices = Urgency.choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("student_number") and not (data.get("name") and data.get("class_name")):
            raise forms.ValidationError(
                _("Give the national student number, or the student's name and class.")
            )
        return data
