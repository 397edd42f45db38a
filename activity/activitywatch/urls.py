"""``/api/0/``: aw-server's routes (aw_server/rest.py)."""

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from . import views

B = "buckets/<str:bucket_id>"

urlpatterns = [
    path("info", views.InfoView.as_view(), name="aw-info"),
    path("buckets/", views.BucketsView.as_view(), name="aw-buckets"),
    path(B, views.BucketView.as_view(), name="aw-bucket"),
    path(f"{B}/events", views.EventsView.as_view(), name="aw-events"),
    path(f"{B}/events/count", views.EventCountView.as_view(), name="aw-event-count"),
    path(f"{B}/events/<int:event_id>", views.EventView.as_view(), name="aw-event"),
    path(f"{B}/heartbeat", views.HeartbeatView.as_view(), name="aw-heartbeat"),
    path(f"{B}/export", views.BucketExportView.as_view(), name="aw-bucket-export"),
    path("export", views.ExportView.as_view(), name="aw-export"),
    re_path(r"^(?P<rest>.*)$", csrf_exempt(views.not_supported), name="aw-not-supported"),
]
