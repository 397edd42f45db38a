from django.urls import path

from imports.web import views

urlpatterns = [
    path("dashboard/imports/", views.imports_page, name="dashboard-imports"),
]
