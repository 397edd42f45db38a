from django.urls import path

from reports.api import views

urlpatterns = [
    path("reports/apps", views.AppsReportView.as_view(), name="reports-apps"),
    path("reports/coding", views.CodingReportView.as_view(), name="reports-coding"),
    path("reports/daily", views.DailyReportView.as_view(), name="reports-daily"),
    path("reports/weekly", views.WeeklyReportView.as_view(), name="reports-weekly"),
    path("reports/team", views.TeamReportView.as_view(), name="reports-team"),
    path("reports/exports", views.ExportListView.as_view(), name="reports-exports"),
    path("reports/exports/<uuid:export_id>", views.ExportDetailView.as_view(), name="reports-export"),
    path(
        "reports/exports/<uuid:export_id>/download", views.ExportDownloadView.as_view(), name="reports-export-download"
    ),
]
