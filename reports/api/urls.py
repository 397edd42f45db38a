from django.urls import path

from reports.api import views

urlpatterns = [
    path("reports/apps", views.AppsReportView.as_view(), name="reports-apps"),
]
