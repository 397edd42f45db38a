"""A URLconf with views that crash, for the 500 error-shape and Sentry tests only."""

from django.urls import include, path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny


@api_view(["GET"])
@permission_classes([AllowAny])
def crash(request):
    raise RuntimeError("boom: secret internals")


@api_view(["POST"])
@permission_classes([AllowAny])
def crash_with_body(request):
    request.data  # parsed, as a real view would before failing  # noqa: B018
    raise RuntimeError("boom with a body")


def plain_crash(request):
    raise RuntimeError("boom outside DRF")


urlpatterns = [
    path("api/v1/crash", crash),
    path("api/v1/crash-with-body", crash_with_body),
    path("plain-crash", plain_crash),
    path("", include("config.urls")),
]

from config.urls import handler400, handler403, handler404, handler500  # noqa: E402,F401  (same handlers)
