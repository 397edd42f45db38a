from django.urls import path
from rest_framework.routers import SimpleRouter

from tracking.api import views

router = SimpleRouter(trailing_slash=False)
router.register("tasks", views.TaskViewSet, basename="task")
router.register("time-entries", views.TimeEntryViewSet, basename="time-entry")

urlpatterns = [
    path(
        "projects/<uuid:project_id>/tasks", views.ProjectTaskTreeViewSet.as_view({"get": "tree"}), name="project-tasks"
    ),
    *router.urls,
]
