import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class CharacterClassValidator:
    """Require letters of both cases, a digit and a symbol: the bureau's password rule."""

    classes = (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")

    def validate(self, password: str, user: object = None) -> None:
        if not all(re.search(pattern, password) for pattern in self.classes):
            raise ValidationError(
                _(
                    "The password must contain upper-case and lower-case letters, "
                    "a digit and a symbol."
                ),
                code="password_character_classes",
            )

    def get_help_text(self) -> str:
        return _(
            "Your password must contain upper-case and lower-case letters, a digit and a symbol."
        )
