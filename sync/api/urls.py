from django.urls import path

from sync.api import views
from sync.api.realtime_views import RealtimeTicketView

urlpatterns = [
    path("sync/changes", views.ChangesView.as_view(), name="sync-changes"),
    path("sync/batch", views.BatchView.as_view(), name="sync-batch"),
    path("realtime/ticket", RealtimeTicketView.as_view(), name="realtime-ticket"),
]
