"""Forms of the referral green channel: refer, cancel, the visit, feedback (online or the
hospital's letter). Creates carry a hidden retry key (`ClientKeyMixin`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinqiao.core.forms import ClientKeyMixin

from ..models import CancelReason, Case, ConsentBasis, DiagnosisCategory, Referral
from ..selectors import referrals as selectors
from ..services import referrals as services


class ReferralForm(ClientKeyMixin):
    destination = forms.ChoiceField(
        label=_("Hospital and psychiatrist"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    reason = forms.CharField(
        label=_("Reason for referral"),
        help_text=_(
            "What the hospital needs to know: the concern, how long, what has been tried. "
            "The psychiatrist sees this text."
        ),
        widget=forms.Textarea(attrs={"rows": 5, "class": "form-control"}),
        max_length=services.REASON_MAX,
    )
    consent_basis = forms.ChoiceField(
        label=_("Legal basis"), choices=ConsentBasis.choices, widget=forms.RadioSelect
    )
    consent_document = forms.FileField(
        label=_("Signed consent of the guardian (PDF, JPEG or PNG)"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": ".pdf,.jpg,.jpeg,.png"}
        ),
    )
    consent_contact: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None,  # type: ignore[arg-type]
        label=_("or the guardian contact in which consent to this referral was given"),
        required=False,
        empty_label="—",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    emergency_reason = forms.CharField(
        label=_("Emergency: why the guardian's consent could not wait"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        required=False,
        max_length=2000,
    )

    def __init__(self, *args: Any, case: Case, directory: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets: dict[str, tuple[Any, Any]] = {}
        choices: list[Any] = [("", "—")]
        for entry in directory:
            options: list[tuple[str, Any]] = [
                (str(entry.hospital.code), _("Any psychiatrist on duty"))
            ]
            self.targets[str(entry.hospital.code)] = (entry.hospital, None)
            for user in entry.psychiatrists:
                value = f"{entry.hospital.code}:{user.pk}"
                options.append((value, selectors.person_name(user)))
                self.targets[value] = (entry.hospital, user)
            label = f"{entry.hospital.name} ({entry.area})"
            if entry.suggested:
                label = _("%(hospital)s — serves this school's area") % {"hospital": label}
                if not self.initial.get("destination"):
                    named = [
                        u for u in entry.psychiatrists if u.pk in entry.suggested_psychiatrists
                    ]
                    code = str(entry.hospital.code)
                    self.initial["destination"] = f"{code}:{named[0].pk}" if named else code
            choices.append((label, options))
        self.fields["destination"].choices = choices  # type: ignore[attr-defined]
        contacts = self.fields["consent_contact"]
        contacts.queryset = selectors.consent_contacts(case)  # type: ignore[attr-defined]
        contacts.label_from_instance = _contact_label  # type: ignore[attr-defined]

    def clean_destination(self) -> tuple[Any, Any]:
        value = self.cleaned_data["destination"]
        if value not in self.targets:
            raise forms.ValidationError(_("Choose a partner hospital from the directory."))
        return self.targets[value]


def _contact_label(contact: Any) -> str:
    when = timezone.localtime(contact.contacted_at).strftime("%Y-%m-%d")
    who = str(contact.guardian) if contact.guardian_id else _("guardian")
    return f"{when} · {contact.get_method_display()} · {who}"


class CancelForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why is the referral cancelled?"),
        choices=CancelReason.choices,
        widget=forms.RadioSelect,
    )


class SeenForm(forms.Form):
    seen_on = forms.DateField(
        label=_("Date of the visit"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
        initial=timezone.localdate,
    )


class FeedbackForm(forms.Form):
    diagnosis_category = forms.ChoiceField(
        label=_("Diagnosis category (optional)"),
        choices=DiagnosisCategory.choices,
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text=_("Coarse and optional: the school needs advice, not a diagnosis."),
    )
    advice_for_school = forms.CharField(
        label=_("Advice for the school"),
        help_text=_(
            "What the school should do and watch for. The school's psychology teacher reads this."
        ),
        widget=forms.Textarea(attrs={"rows": 6, "class": "form-control"}),
        max_length=services.ADVICE_MAX,
    )
    next_review_on = forms.DateField(
        label=_("Next review"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
        required=False,
    )


class PaperFeedbackForm(ClientKeyMixin, FeedbackForm):
    """The hospital's letter, copied by the case's psychology teacher, with the scan attached."""

    seen_on = forms.DateField(
        label=_("Date of the visit"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
        help_text=_("As written on the hospital's letter."),
    )
    letter = forms.FileField(
        label=_("Scan or photo of the hospital's letter (PDF, JPEG or PNG)"),
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": ".pdf,.jpg,.jpeg,.png"}
        ),
    )
    field_order = [
        "seen_on",
        "diagnosis_category",
        "advice_for_school",
        "next_review_on",
        "letter",
    ]

    def __init__(self, *args: Any, referral: Referral, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["advice_for_school"].help_text = _(
            "Copy the hospital's advice from the letter: what the school should do and watch for."
        )
        if referral.seen_at is not None:
            # The psychiatrist recorded the visit already: it is kept, not asked again.
            del self.fields["seen_on"]
