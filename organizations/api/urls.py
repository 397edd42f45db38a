from django.urls import path
from rest_framework.routers import SimpleRouter

from organizations.api import views

router = SimpleRouter(trailing_slash=False)
router.register("companies", views.CompanyViewSet, basename="company")
router.register("teams", views.TeamViewSet, basename="team")
router.register("clients", views.ClientViewSet, basename="client")
router.register("projects", views.ProjectViewSet, basename="project")

urlpatterns = [
    path("invitations/<str:token>/accept", views.InvitationAcceptView.as_view(), name="invitation-accept"),
    *router.urls,
]
