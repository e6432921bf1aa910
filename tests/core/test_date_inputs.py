"""Date fields render their value as YYYY-MM-DD in every language: an <input type="date"> shows
nothing for any other value (Django's zh_Hans formats start with "%Y/%m/%d"), so a Chinese edit
form lost its saved dates and a default of today was asked for again."""

from __future__ import annotations

import datetime

import pytest
from django import forms
from django.utils import timezone, translation

from xinqiao.emergency.forms import MemberForm
from xinqiao.people.models import Staff
from xinqiao.workforce.forms import TrainingForm

DAY = datetime.date(2026, 9, 1)


class DatedForm(forms.Form):
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_date_input_shows_its_initial_value_as_iso(language):
    with translation.override(language):
        html = str(DatedForm(initial={"day": DAY})["day"])
    assert 'value="2026-09-01"' in html


def test_chinese_dates_typed_by_hand_are_still_accepted():
    with translation.override("zh-hans"):
        for typed in ("2026-09-01", "2026/09/01"):
            form = DatedForm({"day": typed})
            assert form.is_valid(), typed
            assert form.cleaned_data["day"] == DAY


def test_product_forms_prefill_dates_in_chinese():
    with translation.override("zh-hans"):
        member = MemberForm(staff=Staff.objects.none())
        training = TrainingForm(initial={"start_date": DAY, "end_date": DAY})
        today = timezone.localdate()  # the member form's default (a callable initial)
        assert f'value="{today:%Y-%m-%d}"' in str(member["started_on"])
        assert 'value="2026-09-01"' in str(training["start_date"])
        assert 'value="2026-09-01"' in str(training["end_date"])
