"""Schema fuzzing: schemathesis generates requests for every operation in /api/schema/ and
runs its checks on the answers (no 500s, every status and body as the schema says, bad input
refused). It calls the real Django WSGI application in-process, on the test database, as a
signed-in user who owns a company.

Deterministic (derandomized Hypothesis, no example database) and bounded (FUZZ_EXAMPLES
generated cases per operation, plus schemathesis' deterministic coverage cases) so it fits the
suite's budget. Harder, by hand: FUZZ_EXAMPLES=200 .venv/bin/python -m pytest tests/test_schema_fuzz.py"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from accounts.services import DeviceInfo, session_create
from accounts.tests.factories import UserFactory
from organizations import services as org_services

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))

CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            # 410 is a refusal too: a pruned sync cursor, a spent invitation.
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 410, 413, 415, 422, 428, 429, "5xx"]
            }
        }
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application(), config=CONFIG)

_signed_in = {}  # the fuzzing user of the running test


@schema.auth(refresh_interval=None)
class FreshSession:
    """A new device session (and access token) for every case: the fuzzer calls /auth/logout,
    /auth/logout-all and DELETE /auth/sessions/{id} too, which revoke the caller's session."""

    def get(self, case, context):
        if "user" not in _signed_in:  # schemathesis asks once while collecting, before any test
            return "not-signed-in"
        tokens = session_create(user=_signed_in["user"], device=DeviceInfo(device_name="fuzz"), stay_logged_in=False)
        return tokens.access

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def _keep_test_connection():
    """Django's WSGI handler closes the database connection around each request (returning it
    to the pool, which rolls back the test's transaction). Django's own test client disconnects
    the same two receivers for the same reason."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_user(db, _keep_test_connection):
    user = UserFactory(name="Fuzz Owner")
    company = org_services.company_create(owner=user, name="Fuzz Co")
    org_services.project_create(company=company, data={"name": "Fuzzed"})
    _signed_in["user"] = user
    yield user
    _signed_in.clear()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_honours_its_schema(case, fuzz_user):
    case.call_and_validate(
        # Every check but "a request valid by the schema is accepted": JSON Schema cannot say
        # "an IANA zone", "a project of your company", "a strong enough password" or "your
        # current password", so a 400 (or a 404, never revealing another company's rows) for
        # such a request is the contract, not a bug.
        excluded_checks=[positive_data_acceptance],
    )
