from django.urls import path

from realtime.api.views import RealtimeTicketView

urlpatterns = [
    path("realtime/ticket", RealtimeTicketView.as_view(), name="realtime-ticket"),
]
