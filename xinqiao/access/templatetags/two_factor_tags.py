"""`{% two_factor_admin account %}`: the account page's two-factor section (state and the reset
form), kept out of the account views (access/views_2fa.py does the reset)."""

from typing import Any

from django import template

from xinqiao.access import two_factor
from xinqiao.access.forms_2fa import ResetSecondFactorForm

register = template.Library()


@register.inclusion_tag("access/_two_factor_admin.html", takes_context=True)
def two_factor_admin(context: dict[str, Any], account: Any) -> dict[str, Any]:
    return {
        "account": account,
        "user": context.get("user"),
        "csrf_token": context.get("csrf_token"),
        "account_two_factor": two_factor.is_enrolled(account),
        "two_factor_reset_form": ResetSecondFactorForm(),
    }
