"""Forms for a counselling room, its checklist and its evaluation; they validate input only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .checklist import Item
from .models import CounsellingRoom, Function, RoomStatus

DATE = forms.DateInput(attrs={"type": "date"})


class RoomForm(forms.ModelForm):
    """The room's facts and, per function, how many rooms and their area."""

    class Meta:
        model = CounsellingRoom
        fields = ["location", "area_m2", "opening_hours", "equipment"]
        widgets = {"equipment": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "location": _("Building, floor and room numbers."),
            "opening_hours": _("e.g. Monday to Friday 12:00–13:30 and 16:30–17:30"),
            "equipment": _("One item per line."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = {a.function: a for a in self.instance.areas.all()} if self.instance.pk else {}
        for function, label in Function.choices:
            row = current.get(function)
            self.fields[f"count_{function}"] = forms.IntegerField(
                label=_("%(room)s: number") % {"room": label},
                min_value=0,
                max_value=50,
                required=False,
                initial=row.count if row else 0,
            )
            self.fields[f"area_{function}"] = forms.DecimalField(
                label=_("%(room)s: area (m²)") % {"room": label},
                min_value=0,
                max_digits=7,
                decimal_places=1,
                required=False,
                initial=row.area_m2 if row else None,
            )

    def room_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "location": data["location"],
            "area_m2": data.get("area_m2"),
            "equipment": data.get("equipment") or "",
            "opening_hours": data.get("opening_hours") or "",
            "areas": {
                f: (data.get(f"count_{f}") or 0, data.get(f"area_{f}")) for f in Function.values
            },
        }


class ChecklistForm(forms.Form):
    """One yes/no, note and photo per item."""

    CHOICES = [("yes", _("Yes")), ("no", _("No"))]

    def __init__(self, *args: Any, items: list[Item], initial_answers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        for item in items:
            answer = initial_answers.get(item.key)
            self.fields[f"met_{item.key}"] = forms.ChoiceField(
                label=str(item.text),
                choices=self.CHOICES,
                widget=forms.RadioSelect,
                required=False,
                initial=None if answer is None else ("yes" if answer.met else "no"),
            )
            self.fields[f"note_{item.key}"] = forms.CharField(
                label=_("Note"),
                max_length=200,
                required=False,
                initial=answer.note if answer else "",
            )
            self.fields[f"photo_{item.key}"] = forms.FileField(
                label=_("Evidence photo"),
                required=False,
                widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
            )

    def answers(self) -> list[dict[str, Any]]:
        """The answered items (an item left without yes/no is not recorded)."""
        out = []
        for item in self.items:
            met = self.cleaned_data.get(f"met_{item.key}")
            if met not in ("yes", "no"):
                continue
            out.append(
                {
                    "item": item.key,
                    "met": met == "yes",
                    "note": self.cleaned_data.get(f"note_{item.key}") or "",
                    "photo": self.cleaned_data.get(f"photo_{item.key}"),
                }
            )
        return out


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=RoomStatus.choices)
    evaluated_on = forms.DateField(label=_("Evaluated on"), widget=DATE, initial=timezone.localdate)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
