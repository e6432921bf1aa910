from collections.abc import Mapping, Sequence
from types import MappingProxyType


class DomainError(Exception):
    """A business rule refused the operation; the message is translated and shown to the user.

    `field` names the form field the message belongs to, when there is one. A refusal that names
    several pieces at once sets `missing` (field → message, one per missing piece) or `reasons`
    (messages about the whole form, one per unmet rule); `core.forms.apply_service_error` puts
    each message in its place.
    """

    missing: Mapping[str, str] = MappingProxyType({})
    reasons: Sequence[str] = ()

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
