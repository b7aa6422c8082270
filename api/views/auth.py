"""Tokens for scripts: POST a username and password to get one; DELETE it to revoke it; rotate it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.authtoken.models import Token
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ServiceUnavailable, SignInLocked
from api.parsers import JSONParser
from api.request_cache import CachedTokenAuthentication
from api.serializers import TokenRequestSerializer, TokenSerializer
from api.throttles import TokenThrottle, UserThrottle
from api.views.common import COMMON_ERRORS, error
from webapp import signin_limits


class ObtainTokenView(APIView):
    # No session authentication here: the credentials are in the body, so there is no CSRF to check.
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]
    # JSON, or the form encoding of `curl -d username=... -d password=...`.
    parser_classes = [JSONParser, FormParser]  # the bounded JSON parser, and curl -d forms

    @extend_schema(
        summary="Get your API token",
        description="Send it as `Authorization: Token <token>`. The same token is returned until revoked.\n\n"
        "The body may also be form-encoded (`application/x-www-form-urlencoded`, as `curl -d username=... "
        "-d password=...` sends it) with the same two fields. Only JSON is listed below: a body listed under "
        "two content types makes common client generators write code that does not import.",
        # One content type: openapi-python-client turns a body listed under JSON and form into code that
        # references an undefined name (its issues 1276 and 1451); the form encoding is still accepted.
        request={"application/json": TokenRequestSerializer},
        responses={200: TokenSerializer, 400: error("Missing fields or wrong username or password."),
                   429: error("Too many attempts, or too many failed sign-ins for this account or address: "
                             "the message says when to try again."),
                   503: error("The cache that counts failed sign-ins cannot be reached: no password is checked.")},
        auth=[],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        username = body.validated_data["username"]
        try:
            user = self._authenticate(request, username, body.validated_data["password"])
        except signin_limits.SignInUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from None
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key, "username": user.get_username()})

    @staticmethod
    def _authenticate(request: Request, username: str, password: str) -> Any:
        locked = signin_limits.reserve_attempt(request._request, username)
        if locked is not None:  # even the right password waits: that is what stops guessing
            raise SignInLocked(locked.message, locked.retry_after)
        user = authenticate(request._request, username=username, password=password)
        if user is None:
            signin_limits.record_failure(request._request, username)
            raise exceptions.ValidationError(
                {"non_field_errors": [exceptions.ErrorDetail("Wrong username or password.", code="authorization")]}
            )
        signin_limits.record_success(request._request, username)
        return user


class TokenView(ObtainTokenView):
    """/api/auth/token/: POST as above; DELETE, sent with the token itself, revokes it."""

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        self._revoking = request.method == "DELETE"  # the authenticators are chosen before dispatch
        return super().initialize_request(request, *args, **kwargs)

    def get_authenticators(self) -> list[Any]:
        # The API's own token authentication (one `tokenAuth` in the schema, not two classes under one name).
        return [CachedTokenAuthentication()] if getattr(self, "_revoking", False) else super().get_authenticators()

    def get_permissions(self) -> list[Any]:
        return [IsAuthenticated()] if getattr(self, "_revoking", False) else super().get_permissions()

    @extend_schema(
        summary="Revoke your API token",
        description="Send the token to revoke as `Authorization: Token <token>`; it stops working at once. "
        "POST your username and password again for a new one.",
        request=None,
        responses={204: None, 401: error("No or bad token."), 429: error("Too many attempts.")},
    )
    def delete(self, request: Request) -> Response:
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class RotateTokenView(APIView):
    """A new token replaces the caller's current one, which stops working at once."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [UserThrottle]

    @extend_schema(
        summary="Replace your API token with a new one",
        description="The old token stops working at once; use the returned one from now on.",
        request=None,
        responses={200: TokenSerializer, **COMMON_ERRORS},
    )
    def post(self, request: Request) -> Response:
        with transaction.atomic():
            Token.objects.filter(user=request.user).delete()
            token = Token.objects.create(user=request.user)
        return Response({"token": token.key, "username": request.user.get_username()})
