from django.urls import path

from sync.api import views
from sync.api.realtime_views import RealtimeTicketView

urlpatterns = [
    path("sync/changes", views.ChangesView.as_view(), name="sync-changes"),
    path("sync/batch", views.BatchView.as_view(), name="sync-batch"),
    path("sync/heartbeats", views.HeartbeatsView.as_view(), name="sync-heartbeats"),
    path("sync/activity", views.ActivityView.as_view(), name="sync-activity"),
    path("realtime/ticket", RealtimeTicketView.as_view(), name="realtime-ticket"),
]
