"""The team admin's view of their company (SPEC: "Team admins"), one module per concern.
Scoping, permissions and form choices come from ``organizations.admin_mixins``; rights within
a company from ``permissions``; every write goes through ``services``, like the API's.
Importing this package registers the model admins (Django's autodiscover imports it)."""

from organizations.admin import companies, invitations, members, projects, teams, tokens

__all__ = ["companies", "invitations", "members", "projects", "teams", "tokens"]
