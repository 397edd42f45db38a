"""Reading and posting back the Django admin's pages."""

from __future__ import annotations

from typing import Any

from django import forms


def form_data(response) -> dict:
    """What a browser posts back, unchanged, for the admin form (and inlines) in ``response``."""
    forms_ = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms_ += [inline.formset.management_form, *inline.formset.forms]
    data: dict[str, Any] = {"_save": "Save"}
    for form in forms_:
        for name, field in form.fields.items():
            key, value = form.add_prefix(name), form[name].value()
            if isinstance(field, forms.NullBooleanField):
                data[key] = {None: "unknown", True: "true", False: "false"}[value]
            elif isinstance(field, forms.BooleanField):
                if value:
                    data[key] = "on"
            elif isinstance(value, list | tuple):
                data[key] = [str(v) for v in value]
            elif value is not None:
                data[key] = str(value)
    return data


def page(response) -> str:
    return response.content.decode()
