"""What a company's rows are for the admin: ``scope_choices`` narrows any model's rows to some
companies, and the form and raw-id widget of ``admin_mixins`` use it to keep a form's choices,
and the objects a raw id names, to the caller's companies."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

from organizations.models import Company, Membership


def is_company_owned(model: type[models.Model]) -> bool:
    try:
        field = model._meta.get_field("company")
    except FieldDoesNotExist:
        return False
    return field.is_relation and field.related_model is Company


def scope_choices(queryset: models.QuerySet[Any], company_ids: list[Any]) -> models.QuerySet[Any]:
    """The rows of ``queryset`` that belong to these companies: the companies themselves,
    users with an active membership in one, company-owned rows by their ``company``. A model
    that belongs to no company (ContentType, Group) is left alone: it holds no tenant data."""
    model = queryset.model
    if issubclass(model, Company):
        return queryset.filter(pk__in=company_ids)
    if issubclass(model, get_user_model()):
        members = Membership.objects.filter(company_id__in=company_ids, is_active=True).values("user_id")
        return queryset.filter(pk__in=members)
    if is_company_owned(model):
        return queryset.filter(company_id__in=company_ids)
    return queryset


def narrow_choices(fields: dict[str, forms.Field], company_ids: list[Any], unscoped: tuple[str, ...] = ()) -> None:
    """Limit every model choice field of a form class (its ``base_fields``) in place."""
    for name, field in fields.items():
        if name not in unscoped and isinstance(field, forms.ModelChoiceField) and field.queryset is not None:
            field.queryset = scope_choices(field.queryset, company_ids)


class CompanyScopedForm(forms.ModelForm):
    """Refuses references to another company's rows where choices could not be narrowed to
    one company beforehand: a superuser, or an admin of several companies, picking the
    company in the same form."""

    company_field = "company"  # both set per request by the admin
    unscoped_fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        field = self.company_field
        if field in ("id", "pk"):
            company_id = self.instance.pk
        elif cleaned.get(field) is not None:
            company_id = cleaned[field].pk
        else:
            company_id = getattr(self.instance, f"{field}_id", None)
        if company_id is None:
            return cleaned
        for name, value in list(cleaned.items()):  # add_error drops the field from it
            formfield = self.fields.get(name)
            if name == field or name in self.unscoped_fields or not value:
                continue
            if not isinstance(formfield, forms.ModelChoiceField) or formfield.queryset is None:
                continue
            values = list(value) if isinstance(formfield, forms.ModelMultipleChoiceField) else [value]
            model = formfield.queryset.model
            found = scope_choices(model._default_manager.filter(pk__in=[v.pk for v in values]), [company_id])
            if found.count() != len(values):
                self.add_error(name, "Choose from the selected company's own.")
        return cleaned


class ScopedForeignKeyRawIdWidget(ForeignKeyRawIdWidget):
    """Django's raw-id widget names the object an id points at (its title, a link to it) by
    looking the id up in the whole table: a company admin typing, or following a link with,
    another company's id saw that company's row named. This one looks it up among its field's
    choices (``choices.queryset``, which the mixin narrows to the caller's companies, then to
    the object's own), so a foreign id is shown bare, as an id that does not exist would be."""

    def label_and_url_for_value(self, value):
        choices = getattr(self, "choices", None)
        queryset = getattr(choices, "queryset", None)
        if queryset is None:  # not yet bound to a field: name nothing rather than anything
            return "", ""
        key = self.rel.get_related_field().name
        try:
            if not queryset.filter(**{key: value}).exists():
                return "", ""
        except (ValueError, ValidationError):
            return "", ""
        return super().label_and_url_for_value(value)
