"""What WakaTime's clients put in their user agent, read as the editor (``activity.wakatime``)."""

from __future__ import annotations

import pytest

from activity.wakatime import editor_from_user_agent
from tests.support.wakatime import UA


@pytest.mark.parametrize(
    ("user_agent", "editor"),
    [
        (UA, "vscode"),  # what wakatime-cli 13.1.0 sends for VS Code
        ("wakatime/v1.73.0 (darwin-22.5.0-arm64) go1.20.5 PyCharm/2023.1 jetbrains-wakatime/14.1.4", "PyCharm"),
        ("wakatime/13.1.0 (Windows-10-10.0.19041-SP0) Python3.8.10.final.0 vim/9.0 vim-wakatime/9.0.0", "vim"),
        ("wakatime/13.1.0 (Linux-6.1) Python3.11.7.final.0 sublime-wakatime/10.0", "sublime"),  # a plugin alone
        ("wakatime/13.1.0 (Linux-6.1) Python3.11.7.final.0 Unknown/0", ""),  # the CLI without --plugin
        ("", ""),
        ("curl/8.5.0", "curl"),
    ],
)
def test_the_editor_is_read_from_the_user_agent(user_agent, editor):
    assert editor_from_user_agent(user_agent) == editor


def test_placeholders_take_the_previous_heartbeats_values():
    from datetime import UTC, datetime

    from activity.coding import CodingItem
    from activity.wakatime import placeholders_resolve

    at = datetime(2026, 5, 4, 9, tzinfo=UTC)
    last = "<<LAST_PROJECT>>"
    items = [
        CodingItem(time=at, entity="https://docs.example", type="url", project=last),  # a tab: cleared
        CodingItem(time=at, entity="/a.py", project=last, language="<<LAST_LANGUAGE>>", branch="<<LAST_BRANCH>>"),
        CodingItem(time=at, entity="/b.go", project="other", language="Go", branch="dev"),
        CodingItem(time=at, entity="Slack", type="app", project=last, language="<<LAST_LANGUAGE>>"),
    ]
    resolved = placeholders_resolve(items, ("stint", "Python", "main"))
    assert [(i.project, i.language, i.branch) for i in resolved] == [
        ("", "", ""),
        ("stint", "Python", "main"),  # the stored newest heartbeat's
        ("other", "Go", "dev"),
        ("other", "Go", ""),  # the batch's previous heartbeat's project, and its language
    ]
    assert [(i.project, i.language) for i in placeholders_resolve(items[1:2], None)] == [("", "")]
