import json
from typing import Any

from django.db import models
from django.db.models.expressions import DatabaseDefault
from django.db.models.query_utils import DeferredAttribute

from . import crypto


class Sealed:
    """A ciphertext as read from the database, opened on first access through the model
    (which knows the row); a `values()` query hands these out unopened."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return "<Sealed>"


class _SealedAttribute(DeferredAttribute):
    """Opens the stored ciphertext with the row's associated data on first read."""

    field: "EncryptedTextField"

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            value = self.field.open(instance, value.token)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """Text stored encrypted (core/crypto.py); Python code only ever sees the plaintext.

    The ciphertext is bound to its table, column and row: `row_key` names the attribute that
    identifies the row, set before the insert and never changed (a UUID code, a client key, the
    one-to-one parent). Encrypted values cannot be searched; keep a keyed hash beside one that
    must be.
    """

    descriptor_class = _SealedAttribute

    def __init__(self, *args: Any, row_key: str = "code", **kwargs: Any) -> None:
        self.row_key = row_key
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["row_key"] = self.row_key
        return name, path, args, kwargs

    def aad_for(self, row: object) -> bytes:
        return crypto.field_aad(self.model._meta.db_table, str(self.column), row)

    def _row(self, instance: Any) -> object:
        row = getattr(instance, self.row_key)
        if row is None or row == "":
            raise ValueError(f"{self.model.__name__}.{self.row_key} must be set before saving")
        return row

    def encode(self, value: Any) -> str:
        return str(value)

    def decode(self, text: str) -> Any:
        return text

    def seal(self, row: object, value: Any) -> str:
        """The stored form of `value` for the row keyed `row` (raw SQL writers use this)."""
        if value is None:
            return value  # type: ignore[return-value]
        text = self.encode(value)
        return "" if text == "" else crypto.encrypt(text, aad=self.aad_for(row))

    def open_token(self, row: object, token: str | None) -> Any:
        if token is None:
            return None
        return self.decode("" if token == "" else crypto.decrypt(token, aad=self.aad_for(row)))

    def open(self, instance: Any, token: str) -> Any:
        return self.open_token(self._row(instance), token)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return Sealed(value)

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value is None or isinstance(value, DatabaseDefault):
            return value  # the column's default applies (never seal the expression's repr)
        return Sealed(self.seal(self._row(model_instance), value))

    def get_prep_value(self, value: Any) -> Any:
        if value is None or isinstance(value, Sealed):
            return None if value is None else value.token
        if value == "":
            return value  # the empty value is stored as is, so `= ''` lookups work
        raise TypeError(
            f"{self.model.__name__}.{self.name} is encrypted: save it through the model "
            "(bulk updates cannot bind it to its row), and search it by a keyed hash"
        )

    def value_to_string(self, obj: Any) -> str:
        return self.encode(self.value_from_object(obj))


class EncryptedJSONField(EncryptedTextField):
    """JSON stored encrypted like `EncryptedTextField` (scores, answers, evidence)."""

    def encode(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def decode(self, text: str) -> Any:
        return json.loads(text) if text else None

    def to_python(self, value: Any) -> Any:
        return value


class PathField(models.CharField):
    """Materialised path; byte-order collation on PostgreSQL so range scans use the B-tree."""

    def db_parameters(self, connection: Any) -> dict[str, Any]:
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params
