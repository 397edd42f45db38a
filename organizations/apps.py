from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OrganizationsConfig(AppConfig):
    name = "organizations"


class StintAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with StintAdminSite as ``admin.site`` (team admins, not staff).
    ``default = False``: AdminConfig says True, and two defaults in this module would stop
    Django from picking OrganizationsConfig for "organizations"."""

    default = False
    default_site = "organizations.admin_site.StintAdminSite"
