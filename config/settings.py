"""All of Stint's settings, read from the environment (and `.env`) and validated at start.

There is one settings module for every environment: ``STINT_ENV`` (development, test,
production) changes a handful of defaults, never the shape. A malformed value stops the
process with a message naming the variable (django-environ raises ImproperlyConfigured).
"""

from __future__ import annotations

import ipaddress
import os
import zoneinfo
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import environ
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

STINT_ENV = env.str("STINT_ENV", default="development")
if STINT_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"STINT_ENV must be development, test or production, not {STINT_ENV!r}")
TESTING = STINT_ENV == "test"
PRODUCTION = STINT_ENV == "production"

DEBUG = env.bool("DEBUG", default=STINT_ENV == "development")
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else "dev-insecure-key-change-me-" + "x" * 30)
if PRODUCTION and (not SECRET_KEY or SECRET_KEY.startswith("dev-insecure")):
    raise ImproperlyConfigured("SECRET_KEY must be set to a long random value in production")
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORT = env.int("PORT", default=8000)  # where `make run` serves
# Absolute base of the links we send out (password reset, invitations): common.links. Unset, a
# link made during a request uses that request's scheme and host (ALLOWED_HOSTS-checked), and
# one made without a request (the reset email's task) http://127.0.0.1:$PORT, the local
# `make run` on whichever PORT it serves — never a fixed port the server is not on.
PUBLIC_URL = env.str("PUBLIC_URL", default="").strip().rstrip("/")
if PUBLIC_URL and (urlsplit(PUBLIC_URL).scheme not in {"http", "https"} or not urlsplit(PUBLIC_URL).netloc):
    raise ImproperlyConfigured(
        f"PUBLIC_URL: {PUBLIC_URL!r} is not an absolute http(s) URL like https://stint.example.com"
    )
# Web processes `runstack` starts on its one listening socket (one per core is the rule).
WEB_CONCURRENCY = env.int("WEB_CONCURRENCY", default=2)
# Threads per web process serving HTTP (config/asgi.py); at most DATABASE_POOL_MAX.
WEB_THREADS = env.int("WEB_THREADS", default=4)
if not 1 <= PORT <= 65535 or WEB_CONCURRENCY < 1 or WEB_THREADS < 1:
    raise ImproperlyConfigured("PORT must be 1-65535, WEB_CONCURRENCY and WEB_THREADS at least 1")


# Schemes a browser's Origin may carry, with their default port: web pages, and the webviews
# of the mobile (Capacitor: capacitor://localhost) and desktop (Tauri: tauri://localhost) apps.
_ORIGIN_SCHEMES = {"http": 80, "https": 443, "capacitor": None, "tauri": None}


def _origin(url: str, name: str) -> str:
    """scheme://host[:port] as a browser sends it in Origin (no default port, lower case)."""
    parts = urlsplit(url.strip().lower())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in _ORIGIN_SCHEMES or not parts.hostname or parts.path not in {"", "/"} or port == -1:
        raise ImproperlyConfigured(
            f"{name}: {url!r} is not an origin like https://stint.example.com or tauri://localhost"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != _ORIGIN_SCHEMES[parts.scheme] else "")


# Browser origins whose pages may open /ws/realtime/ (a socket from any other Origin is refused;
# a socket with no Origin, a desktop app, must bring a token or ticket). Default: PUBLIC_URL's
# origin, plus http://<host>:$PORT for every plain ALLOWED_HOSTS name (the local `make run`).
REALTIME_ALLOWED_ORIGINS = sorted(
    {
        _origin(o, "REALTIME_ALLOWED_ORIGINS")
        for o in env.list(
            "REALTIME_ALLOWED_ORIGINS",
            default=[PUBLIC_URL or f"http://127.0.0.1:{PORT}"]
            + [f"http://{h}:{PORT}" for h in ALLOWED_HOSTS if h and "*" not in h and not h.startswith(".")],
        )
    }
)

# Browser pages on other origins that may call /api/ (django-cors-headers); default none, so
# only the dashboard's own origin can. Credentials (cookies) are allowed for these origins
# only: django-cors-headers sends no CORS headers at all to an origin not listed.
CORS_ALLOWED_ORIGINS = sorted(
    {_origin(o, "CORS_ALLOWED_ORIGINS") for o in env.list("CORS_ALLOWED_ORIGINS", default=[])}
)
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_HEADERS = (*cors_default_headers, "idempotency-key", "x-request-id")
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]

DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / ".data"))).resolve()

# --------------------------------------------------------------------------- apps

INSTALLED_APPS = [
    "daphne",  # must precede staticfiles: its runserver serves ASGI (HTTP and WebSockets)
    "organizations.apps.StintAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / ReDoc assets served by us, not a CDN
    "drf_standardized_errors",
    "corsheaders",
    "django_prometheus",
    "csp",
    "channels",
    "common",
    "accounts",
    "organizations",
    "changelog",
    "audit",
    "tracking",
    "activity",
    "screenshots",
    "reports",
    "sync",
    "imports",
    "realtime",
    "integrations",
    "stack",
]

MIDDLEWARE = [
    "common.middleware.RequestIdMiddleware",
    # Before anything that may answer: a preflight gets its CORS headers (and a request id).
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, API docs, dashboard CSS) straight from the app, hashed and cached,
    # so the one origin needs no separate file server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A Django session is signed in only while its device session is live (revocations end it).
    "accounts.web_sessions.DeviceSessionMiddleware",
    # After authentication: keys are per user. Wraps each keyed POST in one transaction.
    "common.idempotency.IdempotencyMiddleware",
    # Remembers who just wrote, so their reports skip the replica for a few seconds.
    "common.replica.StickyWritesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every response (the strict one below; common/csp.py relaxes
    # it for the vendored Swagger UI and ReDoc pages only).
    "common.csp.ScopedCSPMiddleware",
    # Last: requests and latency by route, the two series the dashboard reads (in place of
    # django-prometheus' two middleware and their ~20 other updates a request).
    "common.middleware.RouteMetricsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --------------------------------------------------------------------------- database

# The embedded servers settings point at (an unset URL), for whoever starts them: importing
# settings starts nothing (config/embedded.py: start_configured and its callers).
EMBEDDED_SERVICES: list[str] = []
if env.str("DATABASE_URL", default=""):
    if urlsplit(env.str("DATABASE_URL")).scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...): there is no other backend")
    DATABASES = {"default": env.db_url("DATABASE_URL", engine="django.db.backends.postgresql")}
    # A unix-socket directory arrives percent-encoded (postgres://user@%2Frun%2Fpg/db).
    DATABASES["default"]["HOST"] = unquote(DATABASES["default"]["HOST"] or "")
    # The password apart from the URL (docker compose passes it from the environment): no
    # secret committed in a URL, and no URL escaping of characters such as @ / : #.
    if env.str("DATABASE_PASSWORD", default=""):
        DATABASES["default"]["PASSWORD"] = env.str("DATABASE_PASSWORD")
else:
    from config import embedded

    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env.str("DATABASE_NAME", default="stint"),
            "USER": embedded.PostgresInfo.user,
            "HOST": str(embedded.postgres_socket_dir(DATA_DIR)),
        }
    }
    EMBEDDED_SERVICES.append("postgres")
# Django's own psycopg pool, not CONN_MAX_AGE: under ASGI a persistent connection per worker
# thread leaks connections until PostgreSQL refuses clients (BASELINES.md).
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
    "min_size": env.int("DATABASE_POOL_MIN", default=1),
    "max_size": env.int("DATABASE_POOL_MAX", default=10),
    "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
}
if DATABASES["default"]["OPTIONS"]["pool"]["max_size"] < WEB_THREADS:
    raise ImproperlyConfigured("DATABASE_POOL_MAX must be at least WEB_THREADS (each HTTP thread holds one)")
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_stint")}
# Reports and exports may read from a streaming replica (common/replica.py): everything else,
# and every write, stays on the primary. A user who wrote in the last REPLICA_STICKY_SECONDS
# reads from the primary (read-your-own-writes across the replica's lag).
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    if urlsplit(DATABASE_REPLICA_URL).scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must point at PostgreSQL (postgres://...)")
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL", engine="django.db.backends.postgresql")
    DATABASES["replica"]["HOST"] = unquote(DATABASES["replica"]["HOST"] or "")
    if env.str("DATABASE_PASSWORD", default="") and not DATABASES["replica"].get("PASSWORD"):
        DATABASES["replica"]["PASSWORD"] = env.str("DATABASE_PASSWORD")
    DATABASES["replica"]["CONN_MAX_AGE"] = 0
    DATABASES["replica"]["OPTIONS"] = {**DATABASES["replica"].get("OPTIONS", {}), "pool": dict(
        DATABASES["default"]["OPTIONS"]["pool"])}  # fmt: skip
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # the test session's replica is the primary
# DATABASE_POOLER=pgbouncer: the URLs point at PgBouncer (or another pooler) in transaction
# mode, where consecutive transactions of one client may run on different server connections
# (docs/operations.md "PgBouncer"). Then nothing may outlive a transaction: no prepared
# statements (psycopg prepares a query after 5 runs; PgBouncer keeps them only from 1.21 with
# max_prepared_statements), and no server-side cursors (Django declares them WITH HOLD outside
# a transaction, and `.iterator()` then runs across several). The code keeps no other session
# state: its advisory locks are pg_*_xact_lock, its SETs are SET LOCAL.
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER not in {"", "pgbouncer"}:
    raise ImproperlyConfigured("DATABASE_POOLER must be empty (a direct connection) or pgbouncer (transaction mode)")
if DATABASE_POOLER:
    for _db in DATABASES.values():
        _db["OPTIONS"]["prepare_threshold"] = None
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True
DATABASE_ROUTERS = ["common.replica.ReplicaRouter"]
REPLICA_STICKY_SECONDS = env.int("REPLICA_STICKY_SECONDS", default=5)
if REPLICA_STICKY_SECONDS < 0:
    raise ImproperlyConfigured("REPLICA_STICKY_SECONDS must be 0 or more")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --------------------------------------------------------------------------- redis

if env.str("REDIS_URL", default=""):
    REDIS_URL = env.str("REDIS_URL")
else:
    from config import embedded

    REDIS_URL = embedded.redis_url(embedded.redis_socket_path(DATA_DIR))
    EMBEDDED_SERVICES.append("redis")
_redis_scheme = urlsplit(REDIS_URL).scheme
if _redis_scheme not in {"redis", "rediss", "unix"}:
    raise ImproperlyConfigured(f"REDIS_URL must be redis://, rediss:// or unix://, not {REDIS_URL!r}")


def _kombu_url(url: str) -> str:
    """kombu spells a unix-socket Redis ``redis+socket://path?virtual_host=db``."""
    parts = urlsplit(url)
    if parts.scheme != "unix":
        return url
    db = parse_qs(parts.query).get("db", ["0"])[0]
    return f"redis+socket://{parts.path}?virtual_host={db}"


# pytest-xdist runs the suite in several processes sharing one Redis database; each (and the
# servers and workers it starts, which inherit PYTEST_XDIST_WORKER) keeps to its own keys. Not
# a setting (so not in .env.example): pytest-xdist sets it in each of its processes.
_TEST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "") if TESTING else ""
CACHE_KEY_PREFIX = env.str(
    "CACHE_KEY_PREFIX", default=("stint-test" + (f"-{_TEST_WORKER}" if _TEST_WORKER else "")) if TESTING else "stint"
)
CACHES = {
    "default": {
        "BACKEND": "common.cache.SharedRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # Each web process's fan-out hub (realtime/fanout.py) waits on its channel with a 5 s
            # BZPOPMIN; redis-py 8 gives every read a 5 s socket timeout by default, so an idle
            # receive would die on a TimeoutError after ~5 s. The read timeout must outlast the pop.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
            "prefix": f"{CACHE_KEY_PREFIX}:asgi",
            # Messages a process's channel holds before channels-redis silently drops the rest
            # (default 100). A burst (a sync batch, a bulk import) sends one message per change
            # and group; 1500 absorbs that while the hub drains it into the sockets' inboxes. What
            # is dropped anyway is refilled from the change log by each socket's gap check.
            "capacity": 1500,
            # A channel of a process that died stays in its groups this long. The hub
            # re-joins its groups hourly, so live sockets never age out (default: a day).
            "group_expiry": 2 * 3600,
        },
    }
}

# --------------------------------------------------------------------------- celery

CELERY_BROKER_URL = _kombu_url(env.str("CELERY_BROKER_URL", default=REDIS_URL))
CELERY_RESULT_BACKEND = None  # tasks report through the database, not a result store
# Celery's reliability advice: acknowledge after the task ran, so a task whose worker died is
# delivered again (our tasks claim their work, so a second delivery is harmless); requeue
# when a pool child is killed; reserve one message per process, so a dead worker strands one.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Seconds before Redis hands an unacknowledged message (its worker died) to another worker.
# One value for the broker and the result backend alike (Celery's Redis caveat): it must
# outlast the longest task and any retry countdown, or a task still running runs twice.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
if CELERY_VISIBILITY_TIMEOUT < 1:
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must be positive")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # Sweep for such messages every ~10 s (kombu: interval x its throttle of 10), not ~100 s.
    "unacked_restore_interval": 1,
}
# No result backend is configured; should one be, it must use the same timeout.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# A job (screenshot, export) PENDING this long while its queue is empty lost its message: beat
# sends it again (common.jobs.requeue_lost).
JOB_REQUEUE_AFTER_SECONDS = env.int("JOB_REQUEUE_AFTER_SECONDS", default=300)
if JOB_REQUEUE_AFTER_SECONDS < 1:
    raise ImproperlyConfigured("JOB_REQUEUE_AFTER_SECONDS must be positive")
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default=f"{CACHE_KEY_PREFIX}-default")
# Queues by latency need (docs/operations.md "Queues"), each read by its own worker group so a
# long export or a burst of screenshots never delays a heartbeat merge or a socket push.
# realtime: change sequencing (socket publishing) and heartbeat merging, seconds matter;
# media: screenshot processing; jobs: exports (long); email: mail sending. Webhooks below.
CELERY_REALTIME_QUEUE = env.str("CELERY_REALTIME_QUEUE", default=f"{CACHE_KEY_PREFIX}-realtime")
CELERY_MEDIA_QUEUE = env.str("CELERY_MEDIA_QUEUE", default=f"{CACHE_KEY_PREFIX}-media")
CELERY_JOBS_QUEUE = env.str("CELERY_JOBS_QUEUE", default=f"{CACHE_KEY_PREFIX}-jobs")
CELERY_EMAIL_QUEUE = env.str("CELERY_EMAIL_QUEUE", default=f"{CACHE_KEY_PREFIX}-email")
# An export past the soft limit is failed (and retried up to its attempts) with a clear reason;
# the hard limit (a minute later) kills a child stuck in C code. Keep both below
# CELERY_VISIBILITY_TIMEOUT (default: 3600), so a running export is never handed to a second
# worker. (Not enforced: the fault tests run workers with a visibility timeout of seconds.)
EXPORT_SOFT_TIME_LIMIT = env.int("EXPORT_SOFT_TIME_LIMIT", default=600)
if EXPORT_SOFT_TIME_LIMIT < 1:
    raise ImproperlyConfigured("EXPORT_SOFT_TIME_LIMIT must be positive")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep our JSON logging in workers and beat

# --------------------------------------------------------------------------- auth

AUTH_USER_MODEL = "accounts.User"
# User.email is unique through a UNIQUE index on lower(email), which Django's check for
# `unique=True` cannot see; the email backend looks users up case-insensitively.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",  # Argon2id
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

ACCESS_TOKEN_LIFETIME = timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", default=15))
REFRESH_TOKEN_LIFETIME = timedelta(days=env.int("REFRESH_TOKEN_DAYS", default=1))
REFRESH_TOKEN_LIFETIME_STAY = timedelta(days=env.int("REFRESH_TOKEN_DAYS_STAY_LOGGED_IN", default=90))
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_SECONDS", default=3600)
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=60)
for _name, _value in [
    ("ACCESS_TOKEN_MINUTES", ACCESS_TOKEN_LIFETIME.total_seconds()),
    ("REFRESH_TOKEN_DAYS", REFRESH_TOKEN_LIFETIME.total_seconds()),
    ("REFRESH_TOKEN_DAYS_STAY_LOGGED_IN", REFRESH_TOKEN_LIFETIME_STAY.total_seconds()),
    ("PASSWORD_RESET_SECONDS", PASSWORD_RESET_TIMEOUT),
    ("LOGIN_FAILURE_LIMIT", LOGIN_FAILURE_LIMIT),
    ("LOGIN_FAILURE_WINDOW_SECONDS", LOGIN_FAILURE_WINDOW_SECONDS),
]:
    if _value <= 0:
        raise ImproperlyConfigured(f"{_name} must be positive")

# --------------------------------------------------------------------------- activity intake

# Heartbeats older than this are refused at intake (a tracker offline longer resends nothing
# useful); partitions exist this far back. Raw heartbeats are kept HEARTBEAT_RETENTION_DAYS
# (whole monthly partitions dropped); merged intervals are kept.
HEARTBEAT_MAX_AGE_DAYS = env.int("HEARTBEAT_MAX_AGE_DAYS", default=30)
HEARTBEAT_RETENTION_DAYS = env.int("HEARTBEAT_RETENTION_DAYS", default=90)
# ActivityWatch's pulsetime: how long after an interval ends a heartbeat with the same data
# still extends it. A client may send its own per request (`pulsetime`).
HEARTBEAT_PULSETIME_SECONDS = env.int("HEARTBEAT_PULSETIME_SECONDS", default=60)
# PostgreSQL connections per web process for the lean heartbeat intake (sync/intake.py), on
# top of Django's pool: one statement each, so a few serve thousands of requests a second.
HEARTBEAT_INTAKE_CONNECTIONS = env.int("HEARTBEAT_INTAKE_CONNECTIONS", default=4)
# Its statements (and the lean pull's) are prepared (planned once per connection). Turn off
# behind a pooler in transaction mode that cannot keep prepared statements (PgBouncer before 1.21): off by default
# with DATABASE_POOLER; PgBouncer 1.21+ with max_prepared_statements may turn it back on.
HEARTBEAT_INTAKE_PREPARED = env.bool("HEARTBEAT_INTAKE_PREPARED", default=not DATABASE_POOLER)
# The ordinary GET /sync/changes answered on the event loop (sync/lean_pull.py), on the heartbeat
# intake's pool (HEARTBEAT_INTAKE_CONNECTIONS); off, every pull goes through Django's stack.
LEAN_PULL = env.bool("LEAN_PULL", default=True)
for _name, _value in [
    ("HEARTBEAT_INTAKE_CONNECTIONS", HEARTBEAT_INTAKE_CONNECTIONS),
    ("HEARTBEAT_MAX_AGE_DAYS", HEARTBEAT_MAX_AGE_DAYS),
    ("HEARTBEAT_RETENTION_DAYS", HEARTBEAT_RETENTION_DAYS),
    ("HEARTBEAT_PULSETIME_SECONDS", HEARTBEAT_PULSETIME_SECONDS),
]:
    if _value <= 0:
        raise ImproperlyConfigured(f"{_name} must be positive")
if HEARTBEAT_RETENTION_DAYS < HEARTBEAT_MAX_AGE_DAYS:
    raise ImproperlyConfigured("HEARTBEAT_RETENTION_DAYS must be at least HEARTBEAT_MAX_AGE_DAYS")

# --------------------------------------------------------------------------- rate limits

# Trusted reverse proxies in front of the web processes. 0: the client address is the
# connection's (REMOTE_ADDR) and X-Forwarded-For is ignored, since any client can write it.
# N: the address N entries from the right of X-Forwarded-For (the one the outermost of our
# proxies saw). Per-IP rate limits, the login limiter and /metrics' network check use it.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
if NUM_PROXIES < 0:
    raise ImproperlyConfigured("NUM_PROXIES must be 0 or more")

_RATE_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_RATE_UNITS.update({"d": 86400, "day": 86400})


def _rate(name: str, default: str) -> tuple[int, int] | None:
    """``<requests>/<unit>`` (unit: s, min, hour, day, optionally with a count: 10s, 5min),
    or ``off``. Returns (requests, window seconds), None when off."""
    value = env.str(name, default=default).strip().lower()
    if value == "off":
        return None
    count, _, period = value.partition("/")
    digits = period.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = period[len(digits) :]
    if not count.isdigit() or int(count) < 1 or unit not in _RATE_UNITS or not (digits == "" or digits.isdigit()):
        raise ImproperlyConfigured(f"{name} must look like 120/min, 10/hour, 30/10s or off, not {value!r}")
    return int(count), _RATE_UNITS[unit] * int(digits or 1)


# Requests per window (common/throttling.py). Per user: every API request, and /sync/* on
# top (a tracker batching every 10 s makes ~12 a minute). Per client IP: the anonymous
# endpoints. The login failure limit (LOGIN_FAILURE_LIMIT) applies besides.
THROTTLE_RATES = {
    "user": _rate("THROTTLE_USER_RATE", "1200/min"),
    "sync": _rate("THROTTLE_SYNC_RATE", "120/min"),
    "login": _rate("THROTTLE_LOGIN_RATE", "30/min"),
    "register": _rate("THROTTLE_REGISTER_RATE", "20/hour"),
    "password_reset": _rate("THROTTLE_PASSWORD_RESET_RATE", "20/hour"),
    "refresh": _rate("THROTTLE_REFRESH_RATE", "120/min"),
}

# --------------------------------------------------------------------------- metrics

# /metrics answers clients in these networks only (404 to others), and when METRICS_TOKEN is
# set only with "Authorization: Bearer <token>" (403 without). Behind a reverse proxy on this
# host every client looks local unless NUM_PROXIES is set: see docs/security.md.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
try:
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(n.strip(), strict=False)
        for n in env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
        if n.strip()
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {exc}") from exc
# prometheus_client's multiprocess mode: each process keeps its values in files here and a
# scrape sums every process's. `runstack` sets it for the processes it starts
# (DATA_DIR/prometheus, emptied at start); set it yourself when you run several processes
# another way (they must share the directory, and it must be emptied before they start).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    raise ImproperlyConfigured(f"PROMETHEUS_MULTIPROC_DIR {PROMETHEUS_MULTIPROC_DIR!r} is not a directory")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": ACCESS_TOKEN_LIFETIME,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
    "UPDATE_LAST_LOGIN": False,
}

# --------------------------------------------------------------------------- REST API

REST_FRAMEWORK = {
    # Personal access tokens first: they take only a UUID-shaped Bearer or Basic credential
    # and leave every other header alone (its WWW-Authenticate is the Bearer JWT's, which makes
    # an anonymous call a 401). Then Bearer JWT, then the Django session of the bundled
    # dashboard, with DRF's CSRF check on unsafe methods.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.PersonalTokenAuthentication",
        "accounts.authentication.SessionJWTAuthentication",
        "accounts.authentication.DashboardSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.CursorPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=50),
    "DEFAULT_SCHEMA_CLASS": "common.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.exceptions.exception_handler",
    # JSON bodies only (415 otherwise); upload endpoints add the multipart parser themselves.
    "DEFAULT_PARSER_CLASSES": ["common.parsers.JSONParser"],  # depth bounded, lone surrogates made U+FFFD
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # The global per-user limit; sync and anonymous views name their own (common/throttling.py).
    "DEFAULT_THROTTLE_CLASSES": ["common.throttling.UserThrottle"],
    "NUM_PROXIES": NUM_PROXIES,
}
DRF_STANDARDIZED_ERRORS = {
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    # Documented in the schema; the last four are ours (common/openapi.py says when).
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "406", "415", "429", "500"]
    + ["409", "413", "422", "503"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Stint API",
    "DESCRIPTION": "Team time tracking: accounts, organizations, tracking, sync, screenshots, reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CompanyRoleEnum": "organizations.models.Role",
        "TeamRoleEnum": "organizations.models.TeamRole",
        "PrivacyActionEnum": "activity.models.PrivacyAction",
        "PrivacyFieldEnum": "activity.models.PrivacyField",
        "TaskStatusEnum": "tracking.models.TaskStatus",
        "TimesheetStatusEnum": "tracking.models.TimesheetStatus",
        "WeekStartEnum": "organizations.models.WeekStart",
        "ExportReportEnum": "reports.models.ExportReport",
        "ExportFormatEnum": "reports.models.ExportFormat",
        "ReportApprovalStatusEnum": "reports.models.ReportApprovalStatus",
        "JobStatusEnum": "common.jobs.JobStatus",
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "common.openapi.closed_request_bodies",  # unknown body fields are 400 (SPEC: Conventions)
    ],
}

# --------------------------------------------------------------------------- email

if TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
else:
    # Console in development; SMTP (EMAIL_HOST...) in production, so reset and invitation links
    # never end up in production logs.
    EMAIL_BACKEND = env.str(
        "EMAIL_BACKEND",
        default="django.core.mail.backends.smtp.EmailBackend"
        if PRODUCTION
        else "django.core.mail.backends.console.EmailBackend",
    )
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Stint <no-reply@stint.local>")

# --------------------------------------------------------------------------- i18n, static

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
if TIME_ZONE not in zoneinfo.available_timezones():
    raise ImproperlyConfigured(f"TIME_ZONE {TIME_ZONE!r} is not an IANA time zone")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]  # the dashboard's stylesheet and script
# In development WhiteNoise serves straight from the apps' static dirs (no collectstatic);
# production images run collectstatic into STATIC_ROOT at build time.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
STATIC_ROOT = None if WHITENOISE_USE_FINDERS else DATA_DIR / "static"
WHITENOISE_AUTOREFRESH = DEBUG
# Uploaded and generated files (exports; screenshots later). Never served as a public folder:
# downloads go through views that check a short-lived signature.
MEDIA_ROOT = DATA_DIR / "media"
SCREENSHOT_MAX_BYTES = 10 * 1024 * 1024  # SPEC: 10 MB
SCREENSHOT_LINK_SECONDS = env.int("SCREENSHOT_LINK_SECONDS", default=300)
EXPORT_RETENTION_DAYS = env.int("EXPORT_RETENTION_DAYS", default=7)
EXPORT_LINK_SECONDS = env.int("EXPORT_LINK_SECONDS", default=300)
if EXPORT_RETENTION_DAYS <= 0 or not 1 <= EXPORT_LINK_SECONDS <= 3600 or not 1 <= SCREENSHOT_LINK_SECONDS <= 3600:
    raise ImproperlyConfigured(
        "EXPORT_RETENTION_DAYS must be positive, EXPORT_LINK_SECONDS and SCREENSHOT_LINK_SECONDS 1-3600"
    )
# Imports (docs/imports.md): the largest file (413 above it), the most rows one file may hold
# (the job fails naming the limit), rows per chunk (one transaction and one COPY each), and the
# task's soft time limit (below CELERY_VISIBILITY_TIMEOUT, like exports').
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=200 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=2_000_000)
IMPORT_CHUNK_ROWS = env.int("IMPORT_CHUNK_ROWS", default=5000)
IMPORT_SOFT_TIME_LIMIT = env.int("IMPORT_SOFT_TIME_LIMIT", default=1800)
if min(IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, IMPORT_CHUNK_ROWS, IMPORT_SOFT_TIME_LIMIT) < 1:
    raise ImproperlyConfigured(
        "IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, IMPORT_CHUNK_ROWS, IMPORT_SOFT_TIME_LIMIT must be positive"
    )
# The audit log (docs/audit.md) is kept AUDIT_RETENTION_DAYS, then purged daily by beat;
# unset or empty keeps it forever (SPEC's default). A log that silently kept nothing, or
# everything, because of a typo would defeat its purpose: anything else stops the process.
_audit_retention = env.str("AUDIT_RETENTION_DAYS", default="").strip()
try:
    AUDIT_RETENTION_DAYS: int | None = int(_audit_retention) if _audit_retention else None
except ValueError:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be a whole number of days, or empty (forever)") from None
if AUDIT_RETENTION_DAYS is not None and AUDIT_RETENTION_DAYS <= 0:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be positive, or empty (forever)")
# What each plan (Company.subscription_status) allows; organizations/plans.py enforces it and
# docs/organizations.md ("Plans and limits") explains each limit. None: unlimited (retention:
# kept forever). Billing (Hubnity) moves a company between plans; new companies start on TRIAL.
# PLAN_LIMITS, a JSON object, overrides any of these per plan, e.g. {"FREE": {"members": 10}}.
_PLAN_DEFAULTS: dict[str, dict[str, int | bool | None]] = {
    "FREE": {"members": 5, "screenshots": False, "retention_days": 90, "exports_per_day": 5, "webhooks": 0},
    "TRIAL": {"members": 100, "screenshots": True, "retention_days": 365, "exports_per_day": 100, "webhooks": 10},
    "PRO": {"members": 100, "screenshots": True, "retention_days": 365, "exports_per_day": 100, "webhooks": 10},
    "ENTERPRISE": {"members": None, "screenshots": True, "retention_days": None, "exports_per_day": None,
                   "webhooks": None},
}  # fmt: skip
try:
    _plan_overrides = env.json("PLAN_LIMITS", default={})
except ValueError as exc:
    raise ImproperlyConfigured(f"PLAN_LIMITS is not valid JSON: {exc}") from exc
if (
    not isinstance(_plan_overrides, dict)
    or not set(_plan_overrides) <= set(_PLAN_DEFAULTS)
    or not all(isinstance(v, dict) for v in _plan_overrides.values())
):
    raise ImproperlyConfigured(
        f"PLAN_LIMITS must be a JSON object of objects keyed by {', '.join(_PLAN_DEFAULTS)}, like"
        ' {"FREE": {"members": 10}}'
    )
PLAN_LIMITS: dict[str, dict[str, int | bool | None]] = {}
for _plan, _defaults in _PLAN_DEFAULTS.items():
    _limits = {**_defaults, **_plan_overrides.get(_plan, {})}
    for _key, _value in _limits.items():
        _least = 1 if _key in {"members", "retention_days"} else 0  # a company has its OWNER; a day at least
        _ok = (
            isinstance(_value, bool)
            if _key == "screenshots"
            else _value is None or (type(_value) is int and _value >= _least)
        )
        if _key not in _defaults or not _ok:
            raise ImproperlyConfigured(
                f"PLAN_LIMITS[{_plan!r}][{_key!r}]: {_value!r} is not allowed (limits: {', '.join(_defaults)};"
                " screenshots true/false, the others a whole number or null, members and retention_days at least 1)"
            )
    PLAN_LIMITS[_plan] = _limits
# Any S3-compatible store instead of local files, when S3_BUCKET is set (django-storages).
# Links to stored files are then S3's own presigned URLs, valid 5 minutes.
S3_BUCKET = env.str("S3_BUCKET", default="")
_default_storage: dict[str, object] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="us-east-1"),
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "querystring_auth": True,
            "querystring_expire": 300,
            "signature_version": "s3v4",
            "file_overwrite": False,
            "default_acl": None,
        },
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --------------------------------------------------------------------------- webhooks

# Webhooks (docs/webhooks.md). Off (the default), endpoint URLs must be https and resolve only
# to public addresses (SSRF defence); on, http and loopback/private/link-local addresses are
# allowed too: for development and tests against a local receiver, never on a shared server.
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
# A delivery's whole budget (connect, send, read): SPEC says 10 s.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
if WEBHOOK_TIMEOUT_SECONDS <= 0:
    raise ImproperlyConfigured("WEBHOOK_TIMEOUT_SECONDS must be positive")
# Sending runs on its own Celery queue, consumed by its own worker (runstack, compose), so a
# slow receiver never holds back merging, processing or realtime publishing.
CELERY_WEBHOOK_QUEUE = env.str("CELERY_WEBHOOK_QUEUE", default=f"{CACHE_KEY_PREFIX}-webhooks")
# The one routing table, by task name; anything not named runs on CELERY_TASK_DEFAULT_QUEUE
# (pruning and purging: background work no one waits for). Tests route each queue to their own
# workers (conftest.celery_worker). Worker groups: runstack, deploy/compose, deploy/k8s.
CELERY_TASK_ROUTES = {
    # The latency-critical path: sockets get changes once sequenced; app usage once merged.
    "changelog.tasks.sequence_changes": {"queue": CELERY_REALTIME_QUEUE},
    "activity.tasks.merge_heartbeats": {"queue": CELERY_REALTIME_QUEUE},
    # Thumbnails and checks of uploaded screenshots: bursts when many devices upload at once.
    "screenshots.tasks.process_screenshot": {"queue": CELERY_MEDIA_QUEUE},
    # Minutes of work each; limits: EXPORT_SOFT_TIME_LIMIT (on the task).
    "reports.tasks.build_export": {"queue": CELERY_JOBS_QUEUE},
    # Imports share the jobs queue with exports (SPEC: "exports and imports"); IMPORT_SOFT_TIME_LIMIT.
    "imports.tasks.run_import": {"queue": CELERY_JOBS_QUEUE},
    # Waits on the mail server; retried on its own.
    "accounts.tasks.send_password_reset": {"queue": CELERY_EMAIL_QUEUE},
    # Waits on other people's servers (integrations.services also names the queue explicitly).
    "integrations.tasks.webhook_*": {"queue": CELERY_WEBHOOK_QUEUE},
}
# Seconds to wait after each failed attempt of a change-log event before the next (SPEC: about
# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); after the last one the event is given up.
_RETRY_DEFAULT = ["5", "300", "1800", "7200", "18000", "36000", "36000"]
WEBHOOK_RETRY_SCHEDULE = [float(s) for s in env.list("WEBHOOK_RETRY_SCHEDULE", default=_RETRY_DEFAULT)]
if not WEBHOOK_RETRY_SCHEDULE or any(s < 0 for s in WEBHOOK_RETRY_SCHEDULE):
    raise ImproperlyConfigured("WEBHOOK_RETRY_SCHEDULE must be a list of non-negative seconds")
# An endpoint whose deliveries have failed (no success in between) this long is switched off
# and its company's OWNERs emailed (SPEC: 3 days).
WEBHOOK_DISABLE_AFTER_DAYS = env.float("WEBHOOK_DISABLE_AFTER_DAYS", default=3.0)
if WEBHOOK_DISABLE_AFTER_DAYS <= 0:
    raise ImproperlyConfigured("WEBHOOK_DISABLE_AFTER_DAYS must be positive")
# The delivery log keeps this many days (a daily beat task deletes older rows).
WEBHOOK_DELIVERY_RETENTION_DAYS = env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30)
if WEBHOOK_DELIVERY_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("WEBHOOK_DELIVERY_RETENTION_DAYS must be at least 1")

# --------------------------------------------------------------------------- security

# The dashboard (templates/) signs in with the Django session.
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a promise to browsers that is slow to take back (hstspreload.org):
        # the operator's choice, so `check --deploy` does not warn about leaving it off.
        SILENCED_SYSTEM_CHECKS.append("security.W021")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# A strict policy for every page: scripts, styles and connections from our own origin only (no
# inline script or style), no plugins, no framing. 'self' covers ws(s):// of the same host
# (CSP Level 3), which is how the dashboard reaches /ws/realtime/. Screenshot links point at the
# bucket when S3 is in use, so its origin may serve images.
_img_src = ["'self'", "data:"]
if S3_BUCKET:  # path-style (endpoint/bucket/key) or virtual-hosted (bucket.endpoint/key) links
    _s3_hosts = [env.str("S3_ENDPOINT_URL", default="")]
    if not _s3_hosts[0]:  # AWS itself: the global and the regional endpoint
        _region = env.str("S3_REGION", default="us-east-1")
        _s3_hosts = ["https://s3.amazonaws.com", f"https://s3.{_region}.amazonaws.com"]
    for _s3 in map(urlsplit, _s3_hosts):
        _img_src += [f"{_s3.scheme}://{_s3.netloc}", f"{_s3.scheme}://*.{_s3.netloc}"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": _img_src,
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Request bodies: larger non-file bodies (JSON, form fields) are refused with 413 in the standard
# shape; uploaded files do not count (screenshots have their own limit, SCREENSHOT_MAX_BYTES).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

# --------------------------------------------------------------------------- logging

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in {"json", "console"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or console")

from common.logging import configure_logging  # noqa: E402  (needs the values above)

LOGGING_CONFIG = None
configure_logging(level=LOG_LEVEL, fmt=LOG_FORMAT)

# --------------------------------------------------------------------------- errors

# Errors (web and Celery) to Sentry when set; events are scrubbed of credentials first
# (common/sentry.py). The environment defaults to STINT_ENV.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default=STINT_ENV)
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="") or None
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if not 0.0 <= SENTRY_TRACES_SAMPLE_RATE <= 1.0:
    raise ImproperlyConfigured("SENTRY_TRACES_SAMPLE_RATE must be between 0 and 1")
if SENTRY_DSN:
    from common.sentry import init_sentry  # noqa: E402

    init_sentry(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )
