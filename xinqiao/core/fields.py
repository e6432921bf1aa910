from typing import Any

from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """Stores text encrypted with AES-GCM; Python code only ever sees the plaintext."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)


class PathField(models.CharField):
    """Materialised path; byte-order collation on PostgreSQL so range scans use the B-tree."""

    def db_parameters(self, connection: Any) -> dict[str, Any]:
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params
