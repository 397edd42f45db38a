"""Accounts endpoints (SPEC: REST API, Accounts). Thin: parse, call a service, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import personal_tokens, profile, selectors, services
from accounts.api import refresh_cookie
from accounts.api import serializers as s
from accounts.authentication import authenticated_user
from accounts.tasks import send_password_reset
from common import throttling
from common.idempotency import replay_without
from common.openapi import plan_limit

NO_CONTENT = OpenApiResponse(description="No content")


def _device(request, device_name: str = "") -> services.DeviceInfo:
    return services.DeviceInfo(
        device_name=device_name or "",
        user_agent=request.headers.get("User-Agent", ""),
        ip=throttling.request_ip(request),
    )


class AnonymousView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class RegisterView(AnonymousView):
    throttle_classes = [throttling.RegisterThrottle]

    @extend_schema(
        request=s.RegisterInputSerializer,
        responses={
            201: s.RegisterOutputSerializer,
            402: plan_limit("The inviting company's plan allows no more members (attr: members)."),
        },
        tags=["auth"],
    )
    def post(self, request):
        data = s.RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        user, company, tokens = services.user_register(
            email=v["email"],
            password=v["password"],
            name=v["name"],
            company_name=v.get("company_name"),
            invitation_token=v.get("invitation_token"),
            device=_device(request, v.get("device_name", "")),
        )
        body = {
            "user": user,
            "company": company,
            "access": tokens.access,
            "refresh": tokens.refresh,
            "session_id": tokens.session.id,
        }
        return Response(s.RegisterOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class LoginView(AnonymousView):
    throttle_classes = [throttling.LoginThrottle]

    @extend_schema(request=s.LoginInputSerializer, responses={200: s.LoginOutputSerializer}, tags=["auth"])
    def post(self, request):
        data = s.LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        tokens = services.auth_login(
            email=v["email"],
            password=v["password"],
            device=_device(request, v["device_name"]),
            stay_logged_in=v["stay_logged_in"],
        )
        body = {
            "access": tokens.access,
            "refresh": None if v["cookie"] else tokens.refresh,
            "session_id": tokens.session.id,
            "user": tokens.session.user,
        }
        response = Response(s.LoginOutputSerializer(body).data)
        if v["cookie"]:
            refresh_cookie.set_cookie(response, tokens)
        return response


class RefreshView(AnonymousView):
    throttle_classes = [throttling.RefreshThrottle]

    @extend_schema(request=s.RefreshInputSerializer, responses={200: s.TokenPairSerializer}, tags=["auth"])
    def post(self, request):
        data = s.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, from_cookie = refresh_cookie.refresh_from(request, data.validated_data.get("refresh"))
        tokens = services.token_refresh(refresh=token)
        if not from_cookie:
            return Response({"access": tokens.access, "refresh": tokens.refresh})
        response = Response({"access": tokens.access, "refresh": None})
        refresh_cookie.set_cookie(response, tokens)  # rotated, like the JSON form
        return response


class LogoutView(APIView):
    accepts_personal_tokens = False  # a signed-in session only (accounts.authentication)

    @extend_schema(request=None, responses={204: NO_CONTENT}, tags=["auth"])
    def post(self, request):
        services.auth_logout(user=request.user, session_id=request.session_id)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        refresh_cookie.clear_cookie(response)
        return response


class LogoutAllView(APIView):
    accepts_personal_tokens = False  # a signed-in session only (accounts.authentication)

    @extend_schema(request=None, responses={204: NO_CONTENT}, tags=["auth"])
    def post(self, request):
        services.auth_logout_all(user=request.user)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        refresh_cookie.clear_cookie(response)
        return response


class SessionListView(generics.ListAPIView):
    accepts_personal_tokens = False  # a signed-in session only (accounts.authentication)
    serializer_class = s.DeviceSessionSerializer

    def get_queryset(self):
        return selectors.device_session_list(user=authenticated_user(self.request))

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "session_id": getattr(self.request, "session_id", None)}

    @extend_schema(tags=["auth"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SessionDetailView(APIView):
    accepts_personal_tokens = False  # a signed-in session only (accounts.authentication)

    @extend_schema(responses={204: NO_CONTENT}, tags=["auth"])
    def delete(self, request, session_id):
        # Another user's session id is 404, exactly like a session that does not exist.
        session = generics.get_object_or_404(selectors.device_session_list(user=request.user), id=session_id)
        services.sessions_revoke(sessions=[session], reason="revoked_by_user")
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordForgotView(AnonymousView):
    throttle_classes = [throttling.PasswordResetThrottle]

    @extend_schema(request=s.PasswordForgotInputSerializer, responses={204: NO_CONTENT}, tags=["auth"])
    def post(self, request):
        data = s.PasswordForgotInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # Always the same work on the request path (one enqueue), so the answer's timing does
        # not reveal whether the account exists; the task looks the user up.
        send_password_reset.delay(data.validated_data["email"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(AnonymousView):
    throttle_classes = [throttling.PasswordResetThrottle]

    @extend_schema(request=s.PasswordResetInputSerializer, responses={204: NO_CONTENT}, tags=["auth"])
    def post(self, request):
        data = s.PasswordResetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset(token=data.validated_data["token"], password=data.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    accepts_personal_tokens = False  # a signed-in session only (accounts.authentication)

    @extend_schema(request=s.PasswordChangeInputSerializer, responses={204: NO_CONTENT}, tags=["auth"])
    def post(self, request):
        data = s.PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_change(
            user=request.user,
            current_password=data.validated_data["current_password"],
            new_password=data.validated_data["new_password"],
            session_id=request.session_id,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.UserSerializer}, tags=["me"])
    def get(self, request):
        return Response(s.UserSerializer(request.user).data)

    @extend_schema(request=s.MeUpdateInputSerializer, responses={200: s.UserSerializer}, tags=["me"])
    def patch(self, request):
        data = s.MeUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = profile.user_update(
            user=request.user,
            name=data.validated_data.get("name"),
            timezone_name=data.validated_data.get("timezone"),
            default_company_id=data.validated_data.get("default_company_id", profile.UNCHANGED),
        )
        return Response(s.UserSerializer(user).data)


class MeSettingsView(APIView):
    @extend_schema(request=s.SettingsInputSerializer, responses={200: s.UserSerializer}, tags=["me"])
    def patch(self, request):
        data = s.SettingsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = profile.user_settings_merge(user=request.user, changes=data.validated_data)
        return Response(s.UserSerializer(user).data)


class PersonalTokenListView(generics.ListAPIView):
    """GET, POST /auth/tokens. Only with a signed-in session: a token cannot mint tokens."""

    accepts_personal_tokens = False
    serializer_class = s.PersonalTokenSerializer

    def get_queryset(self):
        return selectors.personal_token_list(user=authenticated_user(self.request))

    @extend_schema(tags=["auth"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.PersonalTokenCreateInputSerializer, responses={201: s.PersonalTokenCreatedSerializer}, tags=["auth"]
    )
    def post(self, request):
        data = s.PersonalTokenCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        token, raw = personal_tokens.personal_token_create(
            user=authenticated_user(request),
            name=v["name"],
            scopes=v["scopes"],
            company=v.get("company_id"),
            expires_at=v.get("expires_at"),
        )
        token.token = raw  # type: ignore[attr-defined]  # shown this once
        response = Response(s.PersonalTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)
        return replay_without(response, "token")  # an Idempotency-Key replay never repeats it


class PersonalTokenDetailView(APIView):
    accepts_personal_tokens = False

    @extend_schema(responses={204: NO_CONTENT}, tags=["auth"])
    def delete(self, request, token_id):
        # Another user's token id is 404, exactly like a token that does not exist.
        user = authenticated_user(request)
        token = generics.get_object_or_404(selectors.personal_token_list(user=user), id=token_id)
        personal_tokens.personal_token_revoke(token=token, by=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
