from __future__ import annotations

from rest_framework.routers import SimpleRouter

from integrations.api import views

router = SimpleRouter(trailing_slash=False)
router.register("audit-log", views.AuditLogViewSet, basename="audit-log")
router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook")

urlpatterns = [*router.urls]
