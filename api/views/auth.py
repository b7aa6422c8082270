"""Tokens for scripts: POST a username and password, get a token back."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import SignInLocked
from api.serializers import TokenRequestSerializer, TokenSerializer
from api.throttles import TokenThrottle
from api.views.common import error
from webapp import signin_limits


class ObtainTokenView(APIView):
    # No session authentication here: the credentials are in the body, so there is no CSRF to check.
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]

    @extend_schema(
        summary="Get your API token",
        description="Send it as `Authorization: Token <token>`. The same token is returned until revoked.",
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, 400: error("Missing fields or wrong username or password."),
                   429: error("Too many attempts, or too many failed sign-ins for this account or address: "
                             "the message says when to try again.")},
        auth=[],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        username = body.validated_data["username"]
        locked = signin_limits.lockout(request._request, username)
        if locked is not None:  # even the right password waits: that is what stops guessing
            raise SignInLocked(locked.message, locked.retry_after)
        user = authenticate(request._request, username=username, password=body.validated_data["password"])
        if user is None:
            signin_limits.record_failure(request._request, username)
            raise exceptions.ValidationError(
                {"non_field_errors": [exceptions.ErrorDetail("Wrong username or password.", code="authorization")]}
            )
        signin_limits.record_success(request._request, username)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key, "username": user.get_username()})
