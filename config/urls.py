from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from common import health, metrics
from common.exceptions import handler404 as api_not_found

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("organizations.api.urls")),
    path("", include("tracking.api.urls")),
    path("", include("sync.api.urls")),
    path("", include("activity.api.urls")),
    path("", include("realtime.api.urls")),
    path("", include("reports.api.urls")),
    path("", include("screenshots.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("imports.api.urls")),
]

# WakaTime's API, as far as its editor plugins use it (docs/trackers-wakatime.md): the key in
# ~/.wakatime.cfg is a personal access token, api_url points here.
wakatime_v1 = [
    path("", include("activity.api.wakatime_urls")),
    path("", include("reports.api.wakatime_urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/compat/wakatime/v1/", include(wakatime_v1)),
    # ActivityWatch's server API, for aw-client and the watchers (activity/activitywatch/)
    path("api/0/", include("activity.activitywatch.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Anything else under /api/ is a JSON 404 in the error shape, DEBUG or not: with DEBUG on,
    # an unresolved URL would get Django's HTML debug page instead of handler404 (SPEC:
    # Conventions, "Unknown paths under /api/").
    # CSRF-exempt: it changes nothing, and a DELETE to an unknown path (a malformed id) must get
    # that 404, not the CSRF middleware's HTML 403.
    re_path(r"^api/", csrf_exempt(api_not_found), name="api-not-found"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics.export, name="metrics"),
    path("admin/", admin.site.urls),
    # The bundled dashboard (templates/): sign-in, sign-out, the live board.
    path("", include("accounts.web.urls")),
    path("", include("reports.web.urls")),
    path("", include("imports.web.urls")),
]

# Errors outside DRF (unknown URLs, crashes) answer in the API's error shape.
handler400 = "common.exceptions.handler400"
handler403 = "common.exceptions.handler403"
handler404 = "common.exceptions.handler404"
handler500 = "common.exceptions.handler500"
