"""A URLconf with a view that crashes, for the 500 error-shape test only."""

from django.urls import include, path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny


@api_view(["GET"])
@permission_classes([AllowAny])
def crash(request):
    raise RuntimeError("boom: secret internals")


def plain_crash(request):
    raise RuntimeError("boom outside DRF")


urlpatterns = [
    path("api/v1/crash", crash),
    path("plain-crash", plain_crash),
    path("", include("config.urls")),
]

from config.urls import handler400, handler403, handler404, handler500  # noqa: E402,F401  (same handlers)
