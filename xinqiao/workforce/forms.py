"""Forms of the workforce pages; choices of staff and units come from the user's scope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from xinqiao.access.pickers import PickerField, PickerMultipleField, bind_pickers, staff_source
from xinqiao.access.roles import Cap
from xinqiao.orgs.forms import style_fields
from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Staff

from .models import (
    Availability,
    CommitteeRole,
    RegistryKind,
    TrainingLevel,
    TrainingMode,
)

DATE = forms.DateInput(attrs={"type": "date"})

if TYPE_CHECKING:
    from xinqiao.access.scope import Principal

# Research participants and registry members: active staff of the editor's area, searched by
# name or pinyin initials (docs/pickers.md); a district has thousands of teachers. The services
# refuse staff outside the activity's district or the registry owner's area with a message.
WORKFORCE_STAFF = staff_source("workforce-staff", cap=Cap.EDIT_WORKFORCE)


class _Styled(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self)


class TrainingForm(_Styled):
    course = forms.CharField(label=_("Course"), max_length=200)
    provider = forms.CharField(label=_("Provider"), max_length=200, required=False)
    start_date = forms.DateField(label=_("Start date"), widget=DATE)
    end_date = forms.DateField(label=_("End date"), widget=DATE, required=False)
    hours = forms.DecimalField(label=_("Hours"), max_digits=6, decimal_places=1, min_value=0.1)
    level = forms.ChoiceField(label=_("Level"), choices=TrainingLevel.choices)
    mode = forms.ChoiceField(label=_("Mode"), choices=TrainingMode.choices)
    certificate = forms.FileField(label=_("Certificate (PDF, JPEG or PNG)"), required=False)


class ResearchForm(_Styled):
    district = forms.ModelChoiceField(label=_("District"), queryset=OrgUnit.objects.none())
    date = forms.DateField(label=_("Date"), widget=DATE)
    theme = forms.CharField(label=_("Theme"), max_length=200)
    organiser = forms.CharField(label=_("Organiser"), max_length=100, required=False)
    participants = PickerMultipleField(WORKFORCE_STAFF, label=_("Participants"), required=False)
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(
        self,
        *args: Any,
        districts: QuerySet[OrgUnit],
        principal: Principal,
        keep: QuerySet[Staff] | None = None,
        fixed_district: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        district_field: Any = self.fields["district"]
        district_field.queryset = districts
        bind_pickers(self, principal)
        if keep is not None:  # an edited activity keeps participants who have since left
            participants: Any = self.fields["participants"]
            participants.queryset = participants.widget.rows = participants.queryset | keep
        if fixed_district:
            del self.fields["district"]


class RegistryForm(_Styled):
    kind = forms.ChoiceField(label=_("Kind"), choices=RegistryKind.choices)
    owner = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none())
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    start_date = forms.DateField(label=_("Start date"), widget=DATE)
    end_date = forms.DateField(label=_("End date"), widget=DATE, required=False)

    def __init__(self, *args: Any, owners: QuerySet[OrgUnit] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if owners is None:  # editing: kind and unit stay
            del self.fields["kind"]
            del self.fields["owner"]
        else:
            owner: Any = self.fields["owner"]
            owner.queryset = owners
            del self.fields["end_date"]


class MemberForm(_Styled):
    staff = PickerField(WORKFORCE_STAFF, label=_("Staff member"))
    role = forms.CharField(label=_("Role"), max_length=60, required=False)
    start_date = forms.DateField(label=_("Start date"), widget=DATE)

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)


class EventForm(_Styled):
    date = forms.DateField(label=_("Date"), widget=DATE)
    title = forms.CharField(label=_("Title"), max_length=200)
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class EndForm(_Styled):
    end_date = forms.DateField(label=_("End date"), widget=DATE, required=False)


class ExpertForm(_Styled):
    owner = forms.ModelChoiceField(label=_("Pool of"), queryset=OrgUnit.objects.none())
    name = forms.CharField(label=_("Name"), max_length=60)
    affiliation = forms.CharField(label=_("Unit / affiliation"), max_length=200, required=False)
    expertise = forms.CharField(label=_("Expertise"), max_length=300, required=False)
    availability = forms.ChoiceField(label=_("Availability"), choices=Availability.choices)
    is_active = forms.BooleanField(label=_("In the pool"), required=False, initial=True)

    def __init__(self, *args: Any, owners: QuerySet[OrgUnit] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if owners is None:
            del self.fields["owner"]
        else:
            owner: Any = self.fields["owner"]
            owner.queryset = owners
            del self.fields["is_active"]


class CommitteeForm(_Styled):
    role = forms.ChoiceField(label=_("Committee role"), choices=CommitteeRole.choices)
    start_date = forms.DateField(label=_("Start date"), widget=DATE)
