from django.urls import path

from common.replica import reads_from_replica
from reports.api import views

# The reports read from the replica when one is configured (common/replica.py).

urlpatterns = [
    path("reports/apps", reads_from_replica(views.AppsReportView.as_view()), name="reports-apps"),
    path("reports/coding", reads_from_replica(views.CodingReportView.as_view()), name="reports-coding"),
    path("reports/daily", reads_from_replica(views.DailyReportView.as_view()), name="reports-daily"),
    path("reports/weekly", reads_from_replica(views.WeeklyReportView.as_view()), name="reports-weekly"),
    path("reports/team", reads_from_replica(views.TeamReportView.as_view()), name="reports-team"),
    path("reports/exports", views.ExportListView.as_view(), name="reports-exports"),
    path("reports/exports/<uuid:export_id>", views.ExportDetailView.as_view(), name="reports-export"),
    path(
        "reports/exports/<uuid:export_id>/download", views.ExportDownloadView.as_view(), name="reports-export-download"
    ),
]
