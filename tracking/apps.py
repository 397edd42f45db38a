from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"

    def ready(self):
        from organizations import selectors as organization_selectors
        from tracking.selectors import project_stats_annotations

        organization_selectors.set_project_stats_provider(project_stats_annotations)
