"""POST /api/v1/realtime/ticket (SPEC: Realtime): a single-use, 30-second ticket for
``/ws/realtime/?ticket=``, so no long-lived token lands in an access log."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime.tickets import ticket_issue


class RealtimeTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    expires_at = serializers.DateTimeField()


class RealtimeTicketView(APIView):
    # Desktop and mobile clients come with their bearer token; the dashboard with its Django
    # session (the API's default authentication: CSRF enforced on this POST). Not with a
    # personal access token: a socket is bound to a device session, which a token has not.
    accepts_personal_tokens = False

    @extend_schema(request=None, responses={201: RealtimeTicketSerializer}, tags=["realtime"])
    def post(self, request):
        # The ticket is bound to the caller's device session (a token's, or the browser's own:
        # accounts/web_sessions.py), so revoking that session closes the socket too.
        ticket, expires_at = ticket_issue(user=request.user, session_id=getattr(request, "session_id", None))
        return Response(
            RealtimeTicketSerializer({"ticket": ticket, "expires_at": expires_at}).data, status=status.HTTP_201_CREATED
        )
