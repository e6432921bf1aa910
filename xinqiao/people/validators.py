"""Checks for the standard numbers people carry: 学籍号, 身份证号, mobile numbers."""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.cn import ric

# 全国学籍号: 'G' (or 'L' for students without a resident ID) followed by the 18-character ID,
# or, in older records, 'J' + 18 characters; the bare 18-character ID is also used.
STUDENT_NUMBER_RE = re.compile(r"^[GJL]?[0-9]{17}[0-9X]$")


def normalise_student_number(value: str) -> str:
    return value.strip().upper()


def validate_student_number(value: str) -> None:
    if not STUDENT_NUMBER_RE.match(normalise_student_number(value)):
        raise ValidationError(
            _("“%(value)s” is not a valid national student number (G + 18 characters)."),
            code="invalid_student_number",
            params={"value": value},
        )


def normalise_id_number(value: str) -> str:
    return ric.compact(value)


def validate_id_number(value: str) -> None:
    """GB 11643-1999: 18 characters, a valid birth date and the ISO 7064 MOD 11-2 check digit."""
    try:
        ric.validate(value)
    except Exception as exc:
        raise ValidationError(
            _("The resident ID number is invalid (wrong length, birth date or check digit)."),
            code="invalid_id_number",
        ) from exc
    if len(normalise_id_number(value)) != 18:
        raise ValidationError(
            _("The resident ID number must have 18 characters."), code="invalid_id_number"
        )


def normalise_mobile(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return value.strip()
    return str(number.national_number)


def validate_mobile(value: str) -> None:
    """A mainland China mobile number: 11 digits starting with 1, in an allocated range."""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Not a phone number."), code="invalid_mobile") from exc
    if not (
        number.country_code == 86
        and phonenumbers.is_valid_number(number)
        and phonenumbers.number_type(number)
        in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    ):
        raise ValidationError(
            _("“%(value)s” is not a valid mainland mobile number."),
            code="invalid_mobile",
            params={"value": value},
        )


def mask_id_number(value: str) -> str:
    """Show the first 3 characters and the check character only: 360**************X.

    The birth date is shown on the profile: with the last 4 (sequence and check digit) visible
    too, only the county's 3 digits were hidden, and the check digit left about one guess in ten
    (issue 13). Now the sequence stays hidden as well: hundreds of candidates."""
    if not value:
        return ""
    return value[:3] + "*" * (len(value) - 4) + value[-1:]
