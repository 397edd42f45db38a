from django.urls import path
from rest_framework.routers import SimpleRouter

from screenshots.api import views

router = SimpleRouter(trailing_slash=False)
router.register("screenshots", views.ScreenshotViewSet, basename="screenshot")

urlpatterns = [
    path(
        "screenshots/<uuid:screenshot_id>/<str:variant>",
        views.ScreenshotFileView.as_view(),
        name="screenshot-file",
    ),
    *router.urls,
]
