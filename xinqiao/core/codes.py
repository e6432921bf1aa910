"""Short codes people read off a screen or a slip and type: one unambiguous alphabet.

No 0/O, 1/I/L: what is printed cannot be misread. Sitting codes (screening/services/sittings.py)
and students' personal codes (people/personal_codes.py) use it.
"""

from __future__ import annotations

import secrets

UNAMBIGUOUS_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def random_code(length: int) -> str:
    """`length` characters of the alphabet from the operating system's CSPRNG."""
    return "".join(secrets.choice(UNAMBIGUOUS_ALPHABET) for _ in range(length))
