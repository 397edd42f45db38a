"""Personal access tokens (SPEC: Accounts, "the admin lists and revokes them"). A token belongs
to a user, not to a company, so the company scoping is this page's own: an OWNER or ADMIN sees
the tokens of their company's active members that can act in it (bound to it, or to no
company), never a token bound to another company. Read only; revoking goes through
``accounts.personal_tokens`` (who revoked is kept), never a row edit or delete."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q

from accounts.models import PersonalAccessToken
from accounts.personal_tokens import personal_token_revoke
from organizations.admin.wording import plural
from organizations.admin_site import admin_memberships
from organizations.models import Membership


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(admin.ModelAdmin):
    admin_label = "Personal access tokens"
    list_display = (
        "name",
        "user",
        "prefix",
        "scopes",
        "company",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    # The detail page shows what the list does, and who revoked a token and why; never the hash.
    fields = (*list_display, "revoked_by", "revoked_reason")
    # Revoked ones stay listed (with when, and on the detail page by whom), filterable away.
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "user__email", "prefix")
    list_select_related = ("user", "company")
    actions = ["revoke_tokens"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        company_ids = list(admin_memberships(request))
        members = Membership.objects.filter(company_id__in=company_ids, is_active=True).values("user_id")
        return queryset.filter(Q(company__isnull=True) | Q(company_id__in=company_ids), user_id__in=members)

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser or bool(admin_memberships(request))

    def has_view_permission(self, request, obj=None) -> bool:
        if obj is not None and not self.get_queryset(request).filter(pk=obj.pk).exists():
            return False
        return self.has_module_permission(request)

    def has_revoke_permission(self, request) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return False  # the raw token is shown to its owner once: they create it themselves

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_tokens(self, request, queryset) -> None:
        # ``queryset`` comes from get_queryset: only tokens this admin may see.
        done = 0
        mine = list(admin_memberships(request))
        for token in queryset.filter(revoked_at__isnull=True):
            # The audit log's company for a token bound to none: one this admin runs that the
            # token's user belongs to (get_queryset let it through for that reason).
            where = Membership.objects.filter(user_id=token.user_id, company_id__in=mine, is_active=True)
            personal_token_revoke(
                token=token,
                by=request.user,
                reason="revoked_by_admin",
                company_id=where.values_list("company_id", flat=True).first(),
            )
            done += 1
        self.message_user(request, f"Revoked {plural(done, 'token')}.", messages.SUCCESS)
