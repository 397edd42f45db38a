from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from screenshots.api import views

router = SimpleRouter(trailing_slash=False)
router.register("screenshots", views.ScreenshotViewSet, basename="screenshot")

urlpatterns = [
    path("screenshots/<uuid:screenshot_id>/upload", views.ScreenshotUploadView.as_view(), name="screenshot-upload"),
    re_path(
        r"^screenshots/(?P<screenshot_id>[0-9a-f-]{36})/(?P<variant>image|thumbnail)$",
        views.ScreenshotFileView.as_view(),
        name="screenshot-file",
    ),
    *router.urls,
]
