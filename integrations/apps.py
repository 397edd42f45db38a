from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        from changelog.sequencer import changes_published
        from integrations.services import endpoints_count, kick_feeders
        from organizations import plans

        # Only this app knows webhook endpoints: organizations counts them through this.
        plans.register_counter(plans.WEBHOOKS, endpoints_count)
        # The change log knows no webhooks: it tells whoever listens what it published.
        changes_published.connect(kick_feeders, dispatch_uid="integrations.kick_feeders")
