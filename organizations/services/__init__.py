"""Every write of the organizations app. Callers (API views, the admin, seed_demo) check the
caller's rights with ``organizations.permissions`` first; services hold the business rules
that apply whoever calls: the last OWNER, single-use invitations, same-company references.
One module per concern; callers use this package's names."""

from organizations.services.companies import (
    LOCKED_UNTIL_MAX_AHEAD,
    PeriodLockGuard,
    company_change_plan,
    company_create,
    company_delete,
    company_update,
    locked_until_end,
    set_period_lock_guard,
)
from organizations.services.members import (
    INVITATION_LIFETIME,
    accept_url,
    invitation_accept,
    invitation_create,
    invitation_revoke,
    member_remove,
    member_update,
)
from organizations.services.projects import (
    PROJECT_FIELDS,
    client_create,
    client_delete,
    client_update,
    project_archive,
    project_create,
    project_unarchive,
    project_update,
)
from organizations.services.teams import (
    team_create,
    team_delete,
    team_member_add,
    team_member_remove,
    team_member_update,
    team_update,
)

__all__ = [
    "INVITATION_LIFETIME",
    "LOCKED_UNTIL_MAX_AHEAD",
    "PROJECT_FIELDS",
    "PeriodLockGuard",
    "accept_url",
    "client_create",
    "client_delete",
    "client_update",
    "company_change_plan",
    "company_create",
    "company_delete",
    "company_update",
    "invitation_accept",
    "invitation_create",
    "invitation_revoke",
    "locked_until_end",
    "member_remove",
    "member_update",
    "project_archive",
    "project_create",
    "project_unarchive",
    "project_update",
    "set_period_lock_guard",
    "team_create",
    "team_delete",
    "team_member_add",
    "team_member_remove",
    "team_member_update",
    "team_update",
]
