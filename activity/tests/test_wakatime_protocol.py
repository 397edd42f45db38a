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
