from django.urls import path
from rest_framework.routers import SimpleRouter

from activity.api import views

router = SimpleRouter(trailing_slash=False)
router.register("privacy-rules", views.PrivacyRuleViewSet, basename="privacy-rule")

urlpatterns = [
    path("sync/heartbeats", views.HeartbeatsView.as_view(), name="sync-heartbeats"),
    path("sync/activity", views.ActivityView.as_view(), name="sync-activity"),
    *router.urls,
]
