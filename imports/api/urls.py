from django.urls import path

from imports.api import views

urlpatterns = [
    path("imports", views.ImportListView.as_view(), name="imports"),
    path("imports/<uuid:import_id>", views.ImportDetailView.as_view(), name="import"),
    path("imports/<uuid:import_id>/cancel", views.ImportCancelView.as_view(), name="import-cancel"),
]
