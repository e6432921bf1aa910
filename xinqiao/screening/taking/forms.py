from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

# A short code typed on a phone: capitals, no autocorrect (the sitting code, the personal code).
_CODE_INPUT = {
    "autocomplete": "off",
    "autocapitalize": "characters",
    "spellcheck": "false",
    "inputmode": "text",
    "class": "form-control form-control-lg take-code",
}


class EnterForm(forms.Form):
    """Sitting code plus the student's identity: the personal code from the class slip, or (the
    fallback) the number, or its last digits and birth date."""

    code = forms.CharField(
        label=_("Sitting code"),
        max_length=12,
        widget=forms.TextInput(attrs=_CODE_INPUT),
        help_text=_("The six characters shown on the classroom screen."),
    )
    personal_code = forms.CharField(
        label=_("Personal code"),
        max_length=16,
        required=False,
        widget=forms.TextInput(attrs={**_CODE_INPUT, "data-personal-code": ""}),
        help_text=_("The eight characters on your sign-in slip, e.g. ABCD-EFGH."),
    )
    student_number = forms.CharField(
        label=_("National student number (全国学籍号)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "class": "form-control form-control-lg",
            }
        ),
    )
    last_digits = forms.CharField(
        label=_("Last digits of your student number"),
        max_length=20,
        required=False,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "inputmode": "numeric",
                "class": "form-control form-control-lg",
            }
        ),
    )
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-lg"}),
    )
