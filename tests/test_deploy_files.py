"""Checks on the deployment files (Dockerfile, docker-compose.yml, .env.example), which no
other test exercises: Docker may not be available where the suite runs, so read them instead."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
LONG_RUNNING = ["db", "redis", "minio", "web", "worker", "webhooks", "beat"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    instructions, pending = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


def _argv(command) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def _exec_form(args: str) -> list[str]:
    return json.loads(args) if args.startswith("[") else shlex.split(args)


# --------------------------------------------------------------------------- compose


def test_compose_has_every_service(compose):
    assert {"db", "redis", "migrate", "web", "worker", "beat"} <= set(compose["services"])
    assert "version" not in compose  # the compose spec dropped it; newer docker compose warns


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_have_a_healthcheck(compose, name):
    check = compose["services"][name].get("healthcheck") or {}
    assert not check.get("disable"), f"{name}: healthcheck disabled"
    assert check.get("test"), f"{name}: no healthcheck test"


def test_backing_service_images(compose):
    services = compose["services"]
    assert services["db"]["image"] == "postgres:17"
    assert services["redis"]["image"].startswith("redis:7")


def test_migrate_runs_once_before_the_app(compose):
    migrate = compose["services"]["migrate"]
    assert _argv(migrate["command"])[-3:] == ["manage.py", "migrate", "--noinput"]
    assert str(migrate.get("restart")) == "no"
    for dependency in ("db", "redis"):
        assert migrate["depends_on"][dependency]["condition"] == "service_healthy"


def test_web_runs_daphne_after_migrations(compose):
    web = compose["services"]["web"]
    argv = _argv(web["command"])
    assert argv[0] == "daphne"
    assert argv[-1] == "config.asgi:application"
    assert "8000:8000" in [str(port) for port in web["ports"]]
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/health/ready" in " ".join(_argv(web["healthcheck"]["test"]))


@pytest.mark.parametrize(("name", "role"), [("worker", "worker"), ("webhooks", "worker"), ("beat", "beat")])
def test_celery_services(compose, name, role):
    argv = _argv(compose["services"][name]["command"])
    assert argv[0] == "celery"
    assert argv[argv.index("-A") + 1] == "config"
    assert role in argv
    assert compose["services"][name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_app_services_share_production_settings(compose):
    for name in ("migrate", "web", "worker", "beat"):
        env = compose["services"][name]["environment"]
        assert env["STINT_ENV"] == "production", name
        assert env["DATABASE_URL"] == "postgres://stint@db:5432/stint", name  # no password in it
        assert env["REDIS_URL"] == "redis://redis:6379/0", name
        # Interpolated and mandatory: never a key or a password committed to the repository.
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?"), name
        assert env["DATABASE_PASSWORD"].startswith("${DATABASE_PASSWORD:?"), name
        assert env["S3_SECRET_ACCESS_KEY"].startswith("${S3_SECRET_ACCESS_KEY:?"), name


def test_the_database_takes_its_password_from_the_environment(compose):
    db = compose["services"]["db"]["environment"]
    assert db["POSTGRES_PASSWORD"].startswith("${DATABASE_PASSWORD:?")
    assert "stint:stint@" not in (ROOT / "docker-compose.yml").read_text()


def test_web_and_worker_share_an_s3_compatible_store_whose_bucket_exists_on_start(compose):
    """Screenshots are stored by the web process and processed by the worker, exports written
    by the worker and served by web: one bucket both reach, never a container's own disk."""
    services = compose["services"]
    store = services["minio"]
    assert store["image"].startswith("minio/minio:")
    assert any(str(v).endswith(":/data") for v in store["volumes"])
    assert store["healthcheck"]["test"]
    assert store["restart"] == "unless-stopped"
    # the same credentials on both sides
    app_env = services["web"]["environment"]
    assert store["environment"]["MINIO_ROOT_USER"] == app_env["S3_ACCESS_KEY_ID"]
    assert store["environment"]["MINIO_ROOT_PASSWORD"] == app_env["S3_SECRET_ACCESS_KEY"]
    # the bucket is created once the store is healthy, before anything that uses it starts
    init = services["minio-init"]
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"
    assert str(init["restart"]) == "no"
    script = " ".join(_argv(init["entrypoint"]) + _argv(init["command"]))
    assert "mc mb --ignore-existing" in script
    assert "$$S3_BUCKET" in script
    assert init["environment"]["S3_BUCKET"] == app_env["S3_BUCKET"]
    assert services["migrate"]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    for name in ("web", "worker"):
        env = services[name]["environment"]
        assert env["S3_BUCKET"] == "${S3_BUCKET:-stint}", name  # django-storages' S3Storage (settings)
        assert env["S3_ENDPOINT_URL"] == "${S3_ENDPOINT_URL:-http://minio:9000}", name
        assert not services[name].get("volumes"), f"{name}: files must not depend on a local volume"


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_base_image(dockerfile):
    assert dockerfile[0] == ("FROM", "python:3.11-slim-bookworm")


def test_dockerfile_cmd_runs_daphne(dockerfile):
    cmds = [args for keyword, args in dockerfile if keyword == "CMD"]
    assert cmds, "no CMD"
    assert _exec_form(cmds[-1]) == ["daphne", "-v", "0", "-b", "0.0.0.0", "-p", "8000", "config.asgi:application"]
    assert ("EXPOSE", "8000") in dockerfile


def test_dockerfile_does_not_run_as_root(dockerfile):
    users = [args for keyword, args in dockerfile if keyword == "USER"]
    assert users, "no USER line: the container would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_healthcheck_probes_liveness(dockerfile):
    checks = [args for keyword, args in dockerfile if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "urllib" in checks[0]
    assert "http://127.0.0.1:8000/health/live" in checks[0]


def test_dockerfile_collectstatic_env_passes_settings_checks(dockerfile):
    """The build-time values must get past settings.py's own checks, or the build fails."""
    runs = [args for keyword, args in dockerfile if keyword == "RUN" and "collectstatic" in args]
    assert len(runs) == 1
    values = dict(re.findall(r"\b([A-Z_]+)=(\S+)", runs[0]))
    assert len(values["SECRET_KEY"]) >= 32
    assert not values["SECRET_KEY"].startswith("dev-insecure")
    # Set, so settings do not start the embedded PostgreSQL / Redis during the build.
    assert values["DATABASE_URL"].startswith(("postgres://", "postgresql://"))
    assert values["REDIS_URL"].startswith("redis://")


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".data", ".venv", ".git"} <= ignored


# --------------------------------------------------------------------------- .env.example

# env.str("NAME", ...) and the like, and settings' own readers that take the name (_rate).
_ENV_CALL = re.compile(r"""\b(?:env(?:\.\w+)?|_rate)\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def _settings_variables() -> set[str]:
    return set(_ENV_CALL.findall((ROOT / "config" / "settings.py").read_text()))


def test_settings_variable_scan_finds_known_names():
    """Guards the regex: if it stopped matching, the next test would pass vacuously."""
    names = _settings_variables()
    assert {"STINT_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "LOG_FORMAT", "THROTTLE_SYNC_RATE"} <= names
    assert len(names) >= 20


def test_env_example_documents_every_setting():
    text = (ROOT / ".env.example").read_text()
    # A "NAME=" assignment, commented out or not; a mention in prose does not count.
    documented = set(re.findall(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))
    missing = sorted(_settings_variables() - documented)
    assert not missing, f".env.example lacks: {', '.join(missing)}"


def _env_example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))


def test_env_example_documents_nothing_settings_does_not_read():
    stale = sorted(_env_example_names() - _settings_variables())
    assert not stale, f".env.example documents variables settings.py never reads: {', '.join(stale)}"


# --------------------------------------------------------------------------- compose <-> settings

APP_SERVICES = ["migrate", "web", "worker", "webhooks", "beat"]
# What a production container cannot start without: compose must set them (settings' defaults
# are for development: an embedded database, a development key).
REQUIRED_IN_COMPOSE = {"STINT_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "PUBLIC_URL"}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_sets_only_variables_settings_reads(compose, name):
    names = set(compose["services"][name]["environment"])
    unknown = sorted(names - _settings_variables())
    assert not unknown, f"{name} sets variables settings.py never reads: {', '.join(unknown)}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_sets_every_required_variable(compose, name):
    missing = sorted(REQUIRED_IN_COMPOSE - set(compose["services"][name]["environment"]))
    assert not missing, f"{name} lacks {', '.join(missing)}"
    assert _settings_variables() >= REQUIRED_IN_COMPOSE  # and settings really reads them


def test_compose_redis_keeps_an_append_only_file(compose):
    redis = compose["services"]["redis"]
    argv = _argv(redis["command"])
    assert argv[argv.index("--appendonly") + 1] == "yes"
    assert any(str(v).endswith(":/data") for v in redis["volumes"])


def test_compose_restarts_what_dies(compose):
    for name in LONG_RUNNING:
        assert compose["services"][name]["restart"] == "unless-stopped", name


def test_dockerfile_collects_static_files_at_build_as_the_app_user(dockerfile):
    keywords = [keyword for keyword, _ in dockerfile]
    collect = next(i for i, (k, args) in enumerate(dockerfile) if k == "RUN" and "collectstatic" in args)
    assert keywords.index("USER") < collect  # files owned by the app user, not root
    assert "--noinput" in dockerfile[collect][1]


# --------------------------------------------------------------------------- docs/operations.md

OPERATIONS = ROOT / "docs" / "operations.md"
TABLE_START, TABLE_END = "<!-- env-table:start -->", "<!-- env-table:end -->"


def env_table() -> str:
    """The configuration reference of docs/operations.md, generated from .env.example: one
    table per section, each variable with its example or default and the comment above it."""
    rows: list[str] = []
    description: list[str] = []
    after_variable = False
    for line in (ROOT / ".env.example").read_text().splitlines():
        if section := re.match(r"^#\s*-+\s*(\w[\w ]*)$", line):
            rows += ["", f"**{section.group(1).strip().capitalize()}**", ""]
            rows += ["| Variable | Example or default | What it does |", "|---|---|---|"]
            description, after_variable = [], False
        elif variable := re.match(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line):
            value = variable.group(2).strip().strip('"') or "(empty)"
            text = " ".join(description).replace("|", "\\|")
            rows.append(f"| `{variable.group(1)}` | `{value}` | {text} |")
            after_variable = True
        elif line.startswith("#"):
            if after_variable:  # a new comment starts the next variable's description
                description, after_variable = [], False
            if line.lstrip("#").strip():
                description.append(line.lstrip("#").strip())
        else:
            description, after_variable = [], False
    return "\n".join(rows).strip()


def _documented_table() -> str:
    text = OPERATIONS.read_text()
    return text[text.index(TABLE_START) + len(TABLE_START) : text.index(TABLE_END)].strip()


def test_operations_doc_lists_every_variable_as_env_example_does():
    assert _documented_table() == env_table(), (
        "docs/operations.md's configuration table is stale: .venv/bin/python tests/test_deploy_files.py --write-docs"
    )
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", _documented_table(), re.MULTILINE))
    assert documented == _settings_variables()


if __name__ == "__main__" and "--write-docs" in __import__("sys").argv:
    text = OPERATIONS.read_text()
    head, tail = text.split(TABLE_START)[0], text.split(TABLE_END)[1]
    OPERATIONS.write_text(f"{head}{TABLE_START}\n{env_table()}\n{TABLE_END}{tail}")
    print(f"wrote the configuration table of {OPERATIONS}")
