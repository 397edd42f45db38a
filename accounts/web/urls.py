from django.urls import path

from accounts.web import link_pages, settings_page, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout_page, name="logout"),
    path("dashboard/settings/", settings_page.settings_page, name="settings"),
    path("dashboard/settings/tokens/<uuid:token_id>/revoke", settings_page.token_revoke, name="settings-token-revoke"),
    # The pages our emails link to (common.links builds the absolute links).
    path("reset-password", link_pages.reset_password_page, name="reset-password"),
    path("invitations/<str:token>/accept", link_pages.invitation_page, name="invitation"),
]
