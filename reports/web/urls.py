from django.urls import path

from reports.web import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/panels/<str:name>/", views.panel, name="dashboard-panel"),
    path("dashboard/approvals/", views.approvals, name="dashboard-approvals"),
    path("dashboard/audit/", views.audit_trail, name="dashboard-audit"),
]
