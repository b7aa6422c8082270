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

from api.serializers import TokenRequestSerializer, TokenSerializer
from api.throttles import TokenThrottle
from api.views.common import error


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
                   429: error("Too many attempts.")},
        auth=[],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(
            request._request, username=body.validated_data["username"], password=body.validated_data["password"]
        )
        if user is None:
            raise exceptions.ValidationError(
                {"non_field_errors": [exceptions.ErrorDetail("Wrong username or password.", code="authorization")]}
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key, "username": user.get_username()})
