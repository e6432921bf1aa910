"""How staff passwords are stored: Argon2id with OWASP's recommended parameters.

OWASP Password Storage Cheat Sheet (2024): Argon2id with a minimum of 19 MiB of memory, an
iteration count of 2 and 1 degree of parallelism. Django's own Argon2 defaults ask for 100 MiB and
8 lanes per sign-in: stronger than needed, and 100 sign-ins at 08:00 would need 10 GB. PBKDF2
with Django 5.2's 1,000,000 iterations took 0.6 s of CPU per sign-in on a school server's core;
this takes about 30 ms. Hashes made with PBKDF2 are upgraded at the user's next sign-in
(PASSWORD_HASHERS keeps it second).
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
