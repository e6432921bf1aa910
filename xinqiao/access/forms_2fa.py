"""Forms of the two-factor pages (access/views_2fa.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    """The 6-digit code from the authenticator app (enrolment)."""

    code = forms.CharField(
        label=_("6-digit code from the app"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "autofocus": True,
                "class": "form-control form-control-lg",
            }
        ),
    )


class SecondStepForm(forms.Form):
    """The second step of signing in: the app's code, or one recovery code."""

    code = forms.CharField(
        label=_("6-digit code or a recovery code"),
        max_length=24,
        help_text=_("Open the authenticator app and type the 6 digits it shows for Xinqiao."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "class": "form-control form-control-lg",
            }
        ),
    )


class ResetSecondFactorForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the reset"),
        max_length=500,
        help_text=_("Recorded in the audit trail, e.g. “phone lost, confirmed in person by …”."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
