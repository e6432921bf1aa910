"""The API tests reuse the apps' worlds: counselling rooms (`fac`) and crisis teams, plans and
helplines (`em`), both built on the shared `world`."""

from ..emergency.conftest import em  # noqa: F401
from ..facilities.test_rooms import fac  # noqa: F401
