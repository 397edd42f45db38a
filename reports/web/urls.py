from django.urls import path

from reports.web import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/panels/<str:name>/", views.panel, name="dashboard-panel"),
]
