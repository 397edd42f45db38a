"""Accounts in the Django admin: superusers only. Team admins manage people through their
company's Members page; accounts themselves belong to no company."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import ValidationError

from accounts import profile
from accounts.models import DeviceSession, User

if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin[Any]  # the mixin is always combined with a ModelAdmin
else:
    _AdminBase = object


class SuperuserOnlyMixin(_AdminBase):
    """Whatever Django permissions a user holds: team admins may enter this admin site."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)


def _clean_unique_email(form, email: str) -> str:
    # The unique index is on lower(email), which ModelForm's own unique check cannot see.
    email = email.strip().lower()
    others = User.objects.filter(email__iexact=email)
    if form.instance.pk is not None:
        others = others.exclude(pk=form.instance.pk)
    if others.exists():
        raise ValidationError("A user with this email already exists.", code="unique")
    return email


class UserCreationForm(auth_forms.AdminUserCreationForm):
    """Django's admin creation form (hashes the password, validates it) for an email login."""

    class Meta:
        model = User
        fields = ("email", "name", "timezone")

    def clean_email(self) -> str:
        return _clean_unique_email(self, self.cleaned_data["email"])


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        return _clean_unique_email(self, self.cleaned_data["email"])


@admin.register(User)
class UserAdmin(SuperuserOnlyMixin, auth_admin.UserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "name", "timezone", "is_active", "is_staff", "is_superuser", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email", "name")
    ordering = ("email",)
    readonly_fields = ("last_login", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "timezone", "settings")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "timezone", "usable_password", "password1", "password2"),
            },
        ),
    )

    # Deleting goes through the service: it lifts the locked-period check for the cascade
    # of the user's time entries (docs/tracking.md, "Locked periods").
    def delete_model(self, request, obj: User) -> None:
        profile.user_delete(user=obj)

    def delete_queryset(self, request, queryset) -> None:
        for user in queryset:
            profile.user_delete(user=user)


@admin.register(DeviceSession)
class DeviceSessionAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    """Read only: revoking goes through the API (its service also invalidates cached access
    tokens, which a plain row update would not)."""

    list_display = ("user", "device_name", "ip", "created_at", "last_seen_at", "expires_at", "revoked_at")
    list_filter = ("stay_logged_in", "revoked_reason")
    search_fields = ("user__email", "device_name", "ip")
    list_select_related = ("user",)
    readonly_fields = (
        "user",
        "device_name",
        "user_agent",
        "ip",
        "stay_logged_in",
        "created_at",
        "last_seen_at",
        "expires_at",
        "revoked_at",
        "revoked_reason",
    )
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
