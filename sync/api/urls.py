from django.urls import path

from sync.api import views

urlpatterns = [
    path("sync/changes", views.ChangesView.as_view(), name="sync-changes"),
    path("sync/batch", views.BatchView.as_view(), name="sync-batch"),
]
