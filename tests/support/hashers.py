"""The password hasher of the test session (conftest.py installs it): Argon2id, as in
production, with the cheapest parameters Argon2 allows. Production's (100 MiB, 2 passes, 8
lanes) cost about half a second per hash or check on the shared 2-core machine, and the suite
hashes or checks a password thousands of times. Every hash is still an ``argon2$argon2id$`` one, checked by the
same code; only its cost differs, and a hash carries its own parameters, so a server process
started by a test (production settings) checks these too."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 8  # KiB: Argon2's floor is 8 x parallelism
    parallelism = 1
