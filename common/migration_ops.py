"""Operations migrations share. Kept stable: applied migrations import them for ever."""

from __future__ import annotations

from django.db import migrations


def move_content_types(moved: list[tuple[str, str, str]]) -> migrations.RunPython:
    """A model moved between apps keeps its content type (so admin history and permissions stay
    attached): ``(from app, to app, model)`` each, relabelled forward and back. A content type
    already under the new label (a database that ran the new code first) is left as it is."""

    def relabel(apps, schema_editor, reverse: bool = False) -> None:
        content_type = apps.get_model("contenttypes", "ContentType")
        for old, new, model in moved:
            old, new = (new, old) if reverse else (old, new)
            if not content_type.objects.filter(app_label=new, model=model).exists():
                content_type.objects.filter(app_label=old, model=model).update(app_label=new)

    def relabel_back(apps, schema_editor) -> None:
        relabel(apps, schema_editor, reverse=True)

    return migrations.RunPython(relabel, relabel_back)
