from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"

    def ready(self):
        from organizations import selectors as organization_selectors
        from organizations import services as organization_services
        from tracking.selectors import project_stats_annotations
        from tracking.services.timesheets import company_lock_guard

        organization_selectors.set_project_stats_provider(project_stats_annotations)
        # A later locked_until must wait for the company's entry writes and must not strand a
        # running timer: only this app knows entries (organizations may not import it).
        organization_services.set_period_lock_guard(company_lock_guard)
