"""The real client: the pure-Python WakaTime CLI (``wakatime==13.1.0`` from PyPI, what editor
plugins ran for years) configured as docs/trackers-wakatime.md says, against a running Stint
(daphne serving config.asgi). Its heartbeat lands, a resend is stored once, the status bar
shows the time, and a bad or read-only key is an error the CLI understands."""

from __future__ import annotations

import base64
import json
import time
import urllib.request

import pytest

from activity.models import CodingHeartbeat
from conftest import daphne_servers, free_port
from tests.support.wakatime import BULK, STATUSBAR, run_wakatime_cli, wakatime_key

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SUCCESS, API_ERROR, AUTH_ERROR = 0, 102, 104  # wakatime/constants.py
PLUGIN = "vscode/1.80.0 vscode-wakatime/24.0.0"


@pytest.fixture
def project_file(tmp_path):
    source = tmp_path / "work" / "stint" / "app.py"
    source.parent.mkdir(parents=True)
    source.write_text("import django\n\n\ndef main():\n    return 42\n")
    return source


def configure(home, port: int, key: str):
    """~/.wakatime.cfg as the docs write it."""
    home.mkdir(exist_ok=True)
    (home / ".wakatime.cfg").write_text(f"[settings]\napi_url = http://127.0.0.1:{port}{BULK}\napi_key = {key}\n")


def send(home, entity, at: float, *extra: str):
    result = run_wakatime_cli(
        [
            "--entity",
            str(entity),
            "--time",
            f"{at:.6f}",
            "--plugin",
            PLUGIN,
            "--project",
            "stint",
            "--lineno",
            "4",
            "--cursorpos",
            "7",
            "--hostname",
            "ci-box",
            "--config",
            str(home / ".wakatime.cfg"),
            "--log-file",
            str(home / "wakatime.log"),
            "--verbose",
            *extra,
        ],
        home=home,
    )
    log = (home / "wakatime.log").read_text() if (home / "wakatime.log").exists() else ""
    return result.returncode, f"{result.stdout}\n{result.stderr}\n{log[-3000:]}"


def statusbar(port: int, key: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{STATUSBAR}",
        headers={"Authorization": "Basic " + base64.b64encode(key.encode()).decode()},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


def test_the_wakatime_cli_reports_to_stint(world, tmp_path, project_file):
    member = world.users["member"]
    key = wakatime_key(member)
    home = tmp_path / "home"
    t0 = time.time() - 130
    with daphne_servers([free_port()], tmp_path) as (port,):
        configure(home, port, key)

        # a heartbeat from the editor lands with what the CLI found out about the file
        code, output = send(home, project_file, t0, "--write")
        assert code == SUCCESS, output
        row = CodingHeartbeat.objects.get()
        assert (row.company_id, row.user_id, row.device_id, row.editor) == (world.a.id, member.id, "ci-box", "vscode")
        assert (row.entity, row.type, row.category, row.project, row.language) == (
            str(project_file),
            "file",
            "coding",
            "stint",
            "Python",
        )
        assert (row.lineno, row.cursorpos, row.is_write) == (4, 7, True)
        assert row.lines == 5  # the CLI counted the file's lines
        assert abs(row.time.timestamp() - t0) < 1e-5

        # a resend (the CLI's offline queue after a lost answer) is stored once
        code, output = send(home, project_file, t0, "--write")
        assert code == SUCCESS, output
        assert CodingHeartbeat.objects.count() == 1

        # two minutes later, another: the status bar shows the two minutes between them
        code, output = send(home, project_file, t0 + 120)
        assert code == SUCCESS, output
        data = statusbar(port, key)
        assert data["grand_total"]["total_seconds"] == pytest.approx(120, abs=0.01)
        assert data["grand_total"]["text"] == "0 hrs 2 mins"
        assert [(p["name"], p["text"]) for p in data["projects"]] == [("stint", "0 hrs 2 mins")]
        assert [lang["name"] for lang in data["languages"]] == ["Python"]


def test_the_cli_is_told_when_its_key_is_wrong_or_read_only(world, tmp_path, project_file):
    member = world.users["member"]
    home = tmp_path / "home"
    with daphne_servers([free_port()], tmp_path) as (port,):
        configure(home, port, "3f1c2a9e-7b5d-4e8a-9c0d-1e2f3a4b5c6d")  # well formed, not a key
        code, output = send(home, project_file, time.time())
        assert code == AUTH_ERROR, output
        configure(home, port, wakatime_key(member, scopes=["read"]))
        code, output = send(home, project_file, time.time())
        assert code == API_ERROR, output
    assert not CodingHeartbeat.objects.exists()
