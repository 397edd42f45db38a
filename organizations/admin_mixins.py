"""The one way to scope a Django admin class to the companies the caller administers.

Every company-owned model's admin, here and in tracking, screenshots and reports, is declared
``class XAdmin(CompanyScopedAdminMixin, admin.ModelAdmin)`` (inlines:
``CompanyScopedInlineMixin``). For OWNERs and ADMINs, who are not staff and hold no Django
model permissions, the mixin

- starts every queryset from their companies (``company_field``: ``"company"``, or ``"id"``
  for Company itself), so another company's object "doesn't exist" in every view, by URL too;
- grants view/add/change/delete on those rows (``manage_permission`` from ``permissions``
  narrows it; subclasses take away add or delete where the product has no such thing);
- limits every ForeignKey/ManyToMany choice to their companies' rows, users to active
  members, and to the object's own company once that is known; a raw-id field names the
  object its id points at only when it is one of those choices (``admin_scoping``);
- hides ``company`` from an admin of exactly one company and sets it on save;
- turns a service's refusal (``ServiceError``: the last OWNER, a duplicate name, a locked
  period) into an error message, with nothing saved or deleted: on the change form, the
  delete confirmation and in actions (each action one transaction).

Superusers see and do everything, under Django's normal permission checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.views.main import ChangeList
from django.db import models, router, transaction
from django.http import HttpRequest, HttpResponseRedirect

from common.exceptions import ServiceError
from organizations.admin_scoping import (
    CompanyScopedForm,
    ScopedForeignKeyRawIdWidget,
    is_company_owned,
    narrow_choices,
    scope_choices,
)
from organizations.admin_site import admin_membership_in, admin_memberships
from organizations.models import Company, Membership

if TYPE_CHECKING:
    # The mixins are always combined with these (see the module doc): typed as their
    # subclasses so that super() and the admin's own attributes are checked.
    from django.contrib.admin.options import BaseModelAdmin, InlineModelAdmin

    _ScopeBase = BaseModelAdmin[Any]
    _AdminBase = admin.ModelAdmin[Any]
    _InlineBase = InlineModelAdmin[Any, Any]
else:
    _ScopeBase = _AdminBase = _InlineBase = object

# --------------------------------------------------------------------------- helpers


def scoped_company_ids(request: HttpRequest) -> list[Any] | None:
    """None for a superuser (nothing is scoped), else the companies the caller administers."""
    if request.user.is_superuser:
        return None
    return list(admin_memberships(request))


def company_id_of(obj: models.Model, field: str = "company") -> Any:
    return obj.pk if field in ("id", "pk") else getattr(obj, f"{field}_id")


def parent_company_id(obj: models.Model) -> Any:
    """The company of an inline's parent object (a Company, or a row with ``company``)."""
    return obj.pk if isinstance(obj, Company) else obj.company_id  # type: ignore[attr-defined]  # every other parent is company-owned


def adopt_saved(target: models.Model, saved: models.Model) -> None:
    """Services create their own instance; copy it onto the one the admin holds so the
    redirect, the log entry and the inlines that follow point at the saved row."""
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding, target._state.db = False, saved._state.db


def _without(fields, name: str) -> list:
    """``fields`` (as in a fieldset, possibly with tuples for one line) without ``name``."""
    kept = []
    for entry in fields:
        if isinstance(entry, (list, tuple)):
            entry = tuple(f for f in entry if f != name)
            if entry:
                kept.append(entry)
        elif entry != name:
            kept.append(entry)
    return kept


# --------------------------------------------------------------------------- mixins


class _CompanyScope(_ScopeBase):
    company_field = "company"
    # Relations whose choices are not the company's rows (Membership.user: whoever joins).
    unscoped_fields: tuple[str, ...] = ()
    # permissions.py's answer to "may this membership manage these rows?" (e.g.
    # permissions.can_manage_members); None: every OWNER and ADMIN may.
    manage_permission: ClassVar[Callable[[Membership], bool] | None] = None

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        company_ids = scoped_company_ids(request)
        if company_ids is None:
            return queryset
        return queryset.filter(**{f"{self.company_field}__in": company_ids})

    def _may_manage(self, request: HttpRequest, company_id=None) -> bool:
        """May the (non-superuser) caller manage rows of ``company_id``, or, without one, of at
        least one of their companies?"""
        if company_id is None:
            memberships = list(admin_memberships(request).values())
        else:
            memberships = [admin_membership_in(request, company_id)]
        check = type(self).manage_permission
        return any(m is not None and (check is None or check(m)) for m in memberships)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if "widget" not in kwargs and db_field.name in self.raw_id_fields:
            kwargs["widget"] = ScopedForeignKeyRawIdWidget(
                db_field.remote_field, self.admin_site, using=kwargs.get("using")
            )
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return self._scoped_formfield(db_field, formfield, request)

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        return self._scoped_formfield(db_field, formfield, request)

    def _scoped_formfield(self, db_field, formfield, request: HttpRequest):
        if db_field.name in self.unscoped_fields:
            return formfield
        company_ids = scoped_company_ids(request)
        if company_ids is not None and isinstance(formfield, forms.ModelChoiceField) and formfield.queryset is not None:
            formfield.queryset = scope_choices(formfield.queryset, company_ids)
        return formfield

    def _single_company_id(self, request: HttpRequest):
        """The company an admin of exactly one company is always working in; else None."""
        if request.user.is_superuser:
            return None
        company_ids = list(admin_memberships(request))
        return company_ids[0] if len(company_ids) == 1 else None


class CalendarSafeChangeList(ChangeList):
    """Django's change list, but a date drill-down (``date_hierarchy``) past the calendar
    (``?started_at__year=9999&...``: the next day, month or year overflows; a year too large for
    an int) is a bad filter like any other: a redirect with ``?e=1``, not a 500."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class CompanyScopedAdminMixin(_CompanyScope, _AdminBase):
    """For ``admin.ModelAdmin`` subclasses of company-owned models (see the module doc)."""

    form = CompanyScopedForm

    def get_changelist(self, request: HttpRequest, **kwargs):
        return CalendarSafeChangeList

    # ------------------------------------------------------------------ permissions

    def _may(self, request: HttpRequest, obj=None) -> bool:
        if obj is None:
            return self._may_manage(request)
        return self._may_manage(request, company_id_of(obj, self.company_field))

    def has_module_permission(self, request: HttpRequest) -> bool:
        if request.user.is_superuser:
            return super().has_module_permission(request)
        return bool(admin_memberships(request))

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        return bool(admin_memberships(request)) and (obj is None or self._owns(request, obj))

    def has_add_permission(self, request: HttpRequest) -> bool:
        if request.user.is_superuser:
            return super().has_add_permission(request)
        return self._may(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)
        return self._may(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        return self._may(request, obj)

    def _owns(self, request: HttpRequest, obj) -> bool:
        return company_id_of(obj, self.company_field) in admin_memberships(request)

    # ------------------------------------------------------------------ the company field

    def _hides_company(self, request: HttpRequest) -> bool:
        return self.company_field not in ("id", "pk") and self._single_company_id(request) is not None

    def get_list_display(self, request: HttpRequest):
        columns = super().get_list_display(request)
        return _without(columns, self.company_field) if self._hides_company(request) else columns

    def get_list_filter(self, request: HttpRequest):
        filters = []
        for entry in super().get_list_filter(request):
            name = entry[0] if isinstance(entry, (list, tuple)) else entry
            if name == self.company_field and self._hides_company(request):
                continue
            if isinstance(entry, str) and get_fields_from_path(self.model, entry)[-1].is_relation:
                # Django's plain related filter lists every row of the related table: every
                # company's clients, teams and users. This one lists only those in our rows.
                entry = (entry, admin.RelatedOnlyFieldListFilter)
            filters.append(entry)
        return filters

    def get_fields(self, request: HttpRequest, obj=None):
        fields = super().get_fields(request, obj)
        return _without(fields, self.company_field) if self._hides_company(request) else fields

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self._hides_company(request):
            return fieldsets
        return [
            (name, {**options, "fields": _without(options["fields"], self.company_field)})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        # A row never moves to another company: everything that points at it is that company's.
        if obj is not None and self.company_field not in ("id", "pk") and self.company_field not in readonly:
            readonly.append(self.company_field)
        return readonly

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if issubclass(form, CompanyScopedForm):  # the mixin's own form, or a subclass of it
            # The class is built per call: safe to set attributes on.
            form.company_field, form.unscoped_fields = self.company_field, self.unscoped_fields
        company_id = company_id_of(obj, self.company_field) if obj is not None else self._single_company_id(request)
        if company_id is not None:
            narrow_choices(form.base_fields, [company_id], self.unscoped_fields)
        return form

    def assign_company(self, request: HttpRequest, obj) -> None:
        """Set ``company`` on a new row of an admin of exactly one company (it was hidden)."""
        if self.company_field in ("id", "pk") or company_id_of(obj, self.company_field) is not None:
            return
        company_id = self._single_company_id(request)
        if company_id is not None:
            setattr(obj, f"{self.company_field}_id", company_id)

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        self.assign_company(request, obj)
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        """New inline rows take the parent's company (inlines never show the field)."""
        if not is_company_owned(formset.model):
            return super().save_formset(request, form, formset, change)
        company_id = parent_company_id(form.instance)
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for obj in instances:
            if obj.company_id is None:
                obj.company_id = company_id
            obj.save()
        formset.save_m2m()

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as exc:
            # Raised inside the view's transaction, which rolled back: nothing was saved.
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request: HttpRequest, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceError as exc:
            # The view's transaction rolled back (the row and its log entry alike); back to
            # the confirmation page, which shows the message.
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def response_action(self, request: HttpRequest, queryset):
        # Django runs actions outside a transaction, and the bulk delete writes its log entries
        # before deleting: one transaction makes an action all or nothing, and a refusal of any
        # row (ServiceError) an error message on the change list.
        try:
            with transaction.atomic(using=router.db_for_write(self.model)):
                return super().response_action(request, queryset)
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class CompanyScopedInlineMixin(_CompanyScope, _InlineBase):
    """For inlines of company-owned rows under a company-owned parent. Inline permission
    methods receive the parent object; the rows' company is always the parent's."""

    def _may(self, request: HttpRequest, obj=None) -> bool:
        return self._may_manage(request, parent_company_id(obj) if obj is not None else None)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        return self._may(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any) -> bool:  # type: ignore[override]  # InlineModelAdmin's signature (the parent object), not BaseModelAdmin's
        if request.user.is_superuser:
            return super().has_add_permission(request, obj)
        return self._may(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)
        return self._may(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        return self._may(request, obj)

    def get_exclude(self, request: HttpRequest, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if self.company_field not in exclude:
            exclude.append(self.company_field)
        return exclude

    def get_formset(self, request: HttpRequest, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        company_id = parent_company_id(obj) if obj is not None else self._single_company_id(request)
        if company_id is not None:
            narrow_choices(formset.form.base_fields, [company_id], self.unscoped_fields)
        return formset
