"""Words for the admin's messages."""

from __future__ import annotations


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
