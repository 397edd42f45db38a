from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        from integrations.services import endpoints_count
        from organizations import plans

        # Only this app knows webhook endpoints: organizations counts them through this.
        plans.register_counter(plans.WEBHOOKS, endpoints_count)
