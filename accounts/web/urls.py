from django.urls import path

from accounts.web import link_pages, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout_page, name="logout"),
    # The pages our emails link to (common.links builds the absolute links).
    path("reset-password", link_pages.reset_password_page, name="reset-password"),
    path("invitations/<str:token>/accept", link_pages.invitation_page, name="invitation"),
]
