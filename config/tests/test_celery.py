"""Celery is configured per its reliability advice, as the app a worker loads sees it."""

from __future__ import annotations

from celery import current_app

from config.celery import app
from tests.support.settings_import import import_settings


def test_tasks_are_acknowledged_late_and_requeued_when_a_worker_dies():
    conf = app.conf
    assert conf.task_acks_late is True  # a task whose worker died is delivered again ...
    assert conf.task_reject_on_worker_lost is True  # ... also when only a pool child was killed
    assert conf.worker_prefetch_multiplier == 1  # a dead worker strands one message per process


def test_one_visibility_timeout_for_broker_and_results():
    conf = app.conf
    timeouts = {
        conf.broker_transport_options["visibility_timeout"],
        conf.result_backend_transport_options["visibility_timeout"],
    }
    assert timeouts == {3600}
    # Longer than any retry countdown of ours, or a retry would run twice.
    app.loader.import_default_modules()
    countdowns = [task.default_retry_delay for name, task in app.tasks.items() if not name.startswith("celery.")]
    assert max(countdowns) < 3600
    # A message stranded by a dead worker is swept back within ~10 s of its timeout.
    assert conf.broker_transport_options["unacked_restore_interval"] * 10 <= 10


def test_retries_are_bounded():
    app.loader.import_default_modules()
    ours = {name: task for name, task in current_app.tasks.items() if not name.startswith("celery.")}
    assert {"screenshots.tasks.process_screenshot", "reports.tasks.build_export"} <= set(ours)
    for name, task in ours.items():
        assert task.max_retries is not None, f"{name} may retry forever"
        assert task.max_retries <= 5, name
    for name in ("screenshots.tasks.process_screenshot", "reports.tasks.build_export"):
        assert ours[name].acks_late is True, name


def test_a_bad_visibility_timeout_stops_the_process():
    for value in ("0", "soon"):
        result = import_settings(CELERY_VISIBILITY_TIMEOUT=value)
        assert result.returncode != 0
        assert "CELERY_VISIBILITY_TIMEOUT" in result.stderr
