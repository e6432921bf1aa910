"""Fixtures of other apps' tests that the registry imports reuse."""

from ..emergency.conftest import em  # noqa: F401 (the emergency world: teams of city, 甲区, 乙区)
