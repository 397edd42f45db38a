from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OrganizationsConfig(AppConfig):
    name = "organizations"

    def ready(self):
        # The change log routes events by team membership without importing this app.
        from changelog.audience import TeamLookup, set_team_lookup
        from organizations.selectors import teams_of_projects, teams_of_users

        set_team_lookup(TeamLookup(teams_of_users=teams_of_users, teams_of_projects=teams_of_projects))


class StintAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with StintAdminSite as ``admin.site`` (team admins, not staff).
    ``default = False``: AdminConfig says True, and two defaults in this module would stop
    Django from picking OrganizationsConfig for "organizations"."""

    default = False
    default_site = "organizations.admin_site.StintAdminSite"
