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
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from accounts.models import User
from accounts.services import DeviceInfo, session_create
from accounts.tests.factories import UserFactory
from common.query import EARLIEST_DATE, LATEST_DATE
from organizations import services as org_services

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))

CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            # 410 is a refusal too: a pruned sync cursor, a spent invitation.
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 410, 413, 415, 422, 428, 429, "5xx"]
            },
            # A schema-valid request may still meet a state: another tenant's or a missing id
            # (404), the company's plan limit (402: the fuzzer may PATCH its company to FREE),
            # a conflict (409), a cursor outside the kept log (410), an Idempotency-Key the
            # fuzzer already sent with another body (422), a rate limit (429). "5xx" stays so
            # that not_a_server_error, not this check, names a crash.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", 401, 402, 403, 404, 409, 410, 422, 429, "5xx"]
            },
        }
    }
)

# Operations whose valid-by-the-schema requests may be refused with a 400 by a rule JSON Schema
# cannot state (or that we choose not to spell out in it): every other operation must accept
# every request its schema allows (positive_data_acceptance).
RULES_BEYOND_THE_SCHEMA = {
    "GET /api/v1/audit-log": "from and to: a date or an RFC 3339 time, from on or before to",
    "POST /api/v1/auth/password/change": "the current password must be right; the new one strong enough",
    "POST /api/v1/auth/password/reset": "a strong enough password",
    "POST /api/v1/auth/tokens": "a name that is not only spaces; expires_at in the future",
    "POST /api/v1/auth/refresh": "no refresh in the body needs the refresh cookie (login with cookie: true)",
    "POST /api/v1/auth/register": "a strong enough password; an email not taken",
    "POST /api/v1/companies": "an IANA time zone",
    "PATCH /api/v1/companies/{id}": "an IANA time zone; locked_until at most a year ahead",
    "PATCH /api/v1/me": "an IANA time zone; a company you belong to",
    "PATCH /api/v1/me/settings": "at least one setting",
    "GET /api/v1/reports/apps": "an IANA time zone",
    "GET /api/v1/reports/daily": "an IANA time zone; date, or from and to (to not before from, at most 31 days), "
    "not both",
    "GET /api/v1/reports/weekly": "an IANA time zone",
    "GET /api/v1/reports/team": "an IANA time zone; a range of at most 366 days",
    "POST /api/v1/reports/exports": "an IANA time zone; a range of at most 366 days",
    "POST /api/v1/privacy-rules": "a valid regular expression",
    "PATCH /api/v1/privacy-rules/{id}": "a valid regular expression",
    "POST /api/v1/projects": "a client and teams of the company",
    "PATCH /api/v1/projects/{id}": "a client and teams of the company",
    "POST /api/v1/screenshots": "an image file (PNG, JPEG or WebP), not an empty one; captured_at within the "
    "company's retention and at most an hour ahead",
    "POST /api/v1/screenshots/presign": "captured_at within the company's retention and at most an hour ahead",
    "POST /api/v1/sync/activity": "samples from 30 days ago to an hour ahead",
    "POST /api/v1/webhooks": "an https URL resolving to public addresses only, no credentials; catalogue events",
    "PATCH /api/v1/webhooks/{id}": "an https URL resolving to public addresses only, no credentials; catalogue events",
    "POST /api/v1/sync/heartbeats": "heartbeats of the last 30 days",
    "POST /api/v1/tasks": "a project (and parent) of your company",
    "PATCH /api/v1/tasks/{id}": "a parent in the same project, not its own descendant",
    "POST /api/v1/time-entries": "a project of your company; an end after the start; times from 2000-01-01 to "
    "a day ahead, at most 31 days apart",
    "PATCH /api/v1/time-entries/{id}": "a project of your company; an end after the start; times from 2000-01-01 "
    "to a day ahead, at most 31 days apart",
    "POST /api/v1/time-entries/start": "a project of your company; a start from 2000-01-01 to a day ahead",
    "GET /api/v1/timesheets": "a range of at most 366 days, to not before from",
    "POST /api/v1/timesheets/submit": "the first day of a week (the company's week_start) that has begun and has "
    "entries",
    "POST /api/v1/timesheets/{id}/reject": "a reason that is not only spaces",
    "POST /api/v1/time-entries/stop": "an end after the running entry's start, at most 31 days after it",
    "POST /api/v1/time-entries/pause": "an end after the running entry's start, at most 31 days after it",
}
QUERY_DATES = {"from", "to", "date"}


def _a_batch_envelope(body) -> bool:
    """POST /sync/batch with a well-formed envelope (a device_id string, an items list within
    the limit, no other field). SPEC: an item that is itself malformed is that item's conflict
    "invalid", never a 400 for the batch, so such a batch is answered 200 however its items
    break the item schema: negative_data_rejection holds for the envelope only."""
    return (
        isinstance(body, dict)
        and set(body) <= {"device_id", "items"}
        and isinstance(body.get("device_id"), str)
        and 0 < len(body["device_id"]) <= 100
        and isinstance(body.get("items"), list)
        and len(body["items"]) <= 1000
    )


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application(), config=CONFIG)

_signed_in: dict[str, User] = {}  # the fuzzing user of the running test


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
    # Every check; "a request valid by the schema is accepted" but where a documented rule
    # beyond the schema may refuse it (RULES_BEYOND_THE_SCHEMA says which, and why).
    rule = RULES_BEYOND_THE_SCHEMA.get(f"{case.operation.method.upper()} {case.operation.path}")
    body_company = case.body.get("company_id") if isinstance(case.body, dict) else None
    if body_company and (case.query or {}).get("company") not in (None, body_company):
        rule = "?company= and a body company_id must agree (SPEC: Conventions)"
    query_years = [int(v[:4]) for k, v in (case.query or {}).items() if k in QUERY_DATES and str(v)[:4].isdigit()]
    if any(not EARLIEST_DATE.year <= year <= LATEST_DATE.year for year in query_years):
        rule = "dates in a query string lie within 1970-01-01 .. 2999-12-31 (docs/api-conventions.md)"
    excluded = [positive_data_acceptance] if rule else []
    batch = case.operation.method.upper() == "POST" and case.operation.path == "/api/v1/sync/batch"
    if batch and _a_batch_envelope(case.body):
        excluded.append(negative_data_rejection)
    case.call_and_validate(excluded_checks=excluded)
