from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self):
        from organizations import plans
        from reports.services import exports_today

        # Only this app knows exports: organizations counts them through this (plans.check).
        plans.register_counter(plans.EXPORTS_PER_DAY, exports_today)
