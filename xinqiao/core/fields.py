import json
from typing import Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from . import crypto


def composite_row(*parts: object) -> str:
    """The row key of a row identified by several columns."""
    return "\x1f".join(str(part) for part in parts)


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
    one-to-one parent) — or a tuple of attributes that together do (an answer draft: its
    assignment, instrument and item), joined with U+001F. Encrypted values cannot be searched;
    keep a keyed hash beside one that must be.
    """

    descriptor_class = _SealedAttribute

    def __init__(self, *args: Any, row_key: str | tuple[str, ...] = "code", **kwargs: Any) -> None:
        self.row_key = row_key
        super().__init__(*args, **kwargs)

    @property
    def row_key_names(self) -> tuple[str, ...]:
        return (self.row_key,) if isinstance(self.row_key, str) else tuple(self.row_key)

    def row_of(self, parts: dict[str, Any]) -> object:
        """The row key from the values of `row_key_names` (raw SQL readers and writers)."""
        values = [parts[name] for name in self.row_key_names]
        return values[0] if len(values) == 1 else composite_row(*values)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["row_key"] = self.row_key
        return name, path, args, kwargs

    def aad_for(self, row: object) -> bytes:
        return crypto.field_aad(self.model._meta.db_table, str(self.column), row)

    def _row(self, instance: Any) -> object:
        parts = {}
        for name in self.row_key_names:
            value = getattr(instance, name)
            if value is None or value == "":
                raise ValueError(f"{self.model.__name__}.{name} must be set before saving")
            parts[name] = value
        return self.row_of(parts)

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
        if value is None or hasattr(value, "resolve_expression"):
            return value  # a database default is not a value: the insert says DEFAULT
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

    # What django-stubs' mypy plugin reads as the attribute's type: any JSON value.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

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
