from django.urls import path
from rest_framework.routers import SimpleRouter

from tracking.api import timesheets, views

router = SimpleRouter(trailing_slash=False)
router.register("tasks", views.TaskViewSet, basename="task")
router.register("time-entries", views.TimeEntryViewSet, basename="time-entry")
router.register("timesheets", timesheets.TimesheetViewSet, basename="timesheet")

urlpatterns = [
    path(
        "projects/<uuid:project_id>/tasks", views.ProjectTaskTreeViewSet.as_view({"get": "tree"}), name="project-tasks"
    ),
    *router.urls,
]
