from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all", views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/sessions", views.SessionListView.as_view(), name="auth-sessions"),
    path("auth/sessions/<uuid:session_id>", views.SessionDetailView.as_view(), name="auth-session-detail"),
    path("auth/tokens", views.PersonalTokenListView.as_view(), name="auth-tokens"),
    path("auth/tokens/<uuid:token_id>", views.PersonalTokenDetailView.as_view(), name="auth-token-detail"),
    path("auth/password/forgot", views.PasswordForgotView.as_view(), name="auth-password-forgot"),
    path("auth/password/reset", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password/change", views.PasswordChangeView.as_view(), name="auth-password-change"),
    path("me", views.MeView.as_view(), name="me"),
    path("me/settings", views.MeSettingsView.as_view(), name="me-settings"),
]
