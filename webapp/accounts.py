"""Sign-up, a rate-limited log-in, and password reset only where e-mail can be sent.

Log out and password change come from django.contrib.auth as they are.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AdminUserCreationForm, AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from webapp import signin_limits
from webapp.cache import increment
from webapp.client_address import client_address
from webapp.usernames import RULE, validate_new_username


class SignInLimitMixin:
    """Refuse a locked-out account or address before checking the password; count failures."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        if not (username and self.cleaned_data.get("password")) or self.request is None:
            return super().clean()  # type: ignore[misc]
        try:
            locked = signin_limits.reserve_attempt(self.request, username)
            if locked is not None:
                raise ValidationError(locked.message, code="locked_out")
            try:
                cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
            except ValidationError as exc:
                if exc.code == "invalid_login":
                    signin_limits.record_failure(self.request, username)
                else:  # the password was right (an inactive account, say): not a guess
                    signin_limits.record_success(self.request, username)
                raise
            signin_limits.record_success(self.request, username)
        except signin_limits.SignInUnavailable as exc:
            raise ValidationError(str(exc), code="unavailable") from None
        return cleaned


class LoginForm(SignInLimitMixin, AuthenticationForm):
    pass


class AdminLoginForm(SignInLimitMixin, AdminAuthenticationForm):
    pass


class UsernameRuleMixin:
    """New accounts get plain-ASCII usernames (webapp/usernames.py), stated under the field."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].help_text = RULE

    def clean_username(self) -> str:
        username: str | None = super().clean_username()  # type: ignore[misc]
        if username is not None:  # None: Django already refused it (taken, in any letter case)
            validate_new_username(username)
        return username  # type: ignore[return-value]


class SignupForm(UsernameRuleMixin, UserCreationForm):
    pass


class AdminSignupForm(UsernameRuleMixin, AdminUserCreationForm):
    pass


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("dashboard")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


def demo_account() -> dict[str, str] | None:
    """The demo account to name on the log-in page, where this site keeps one.

    Its password is shown only where ensure_demo_user puts the documented one back (not in
    production, where a changed password stays changed).
    """
    if not settings.LAYERLOOM_DEMO_ACCOUNT:
        return None
    username = settings.LAYERLOOM_DEMO_USERNAME
    try:
        exists = get_user_model().objects.filter(username=username, is_active=True).exists()
    except DatabaseError:  # the form still renders (its POST will say what is wrong)
        return None
    if not exists:
        return None
    password = settings.LAYERLOOM_DEMO_PASSWORD if settings.LAYERLOOM_DEMO_RESETS_PASSWORD else ""
    return {"username": username, "password": password}


class LoginView(auth_views.LoginView):
    """Django's log-in, with the lines that say what Layerloom is and name the demo account."""

    authentication_form = LoginForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "demo": demo_account()}


login_view = LoginView.as_view()


@login_not_required
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    """Django's reset by e-mail when e-mail is configured (rate-limited per address); otherwise a page saying whom to ask."""
    if not settings.LAYERLOOM_EMAIL_ENABLED:
        return render(request, "registration/password_reset_unavailable.html")
    if request.method == "POST":
        key = f"password-reset:{client_address(request)}"
        if increment(key, timeout=3600) > settings.LAYERLOOM_PASSWORD_RESET_PER_HOUR:
            return render(request, "registration/password_reset_throttled.html", status=429)
    return auth_views.PasswordResetView.as_view()(request)
