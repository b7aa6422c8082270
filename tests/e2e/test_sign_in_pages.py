"""The log-in form itself, logging out, and the 500 page, in a real browser (other browser
tests skip the form by handing the browser a session cookie)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import path

from tests.e2e.checks import check_page
from webapp.urls import urlpatterns as site_urls

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]


def boom(request: Any) -> Any:
    raise RuntimeError("a bug")


# The site's own URLs plus one that fails, for the 500 page.
urlpatterns = [path("boom/", boom), *site_urls]


def test_the_login_form_refuses_a_wrong_password_then_signs_in_and_logs_out(page: Any, alice: Any) -> None:
    page.goto("/jobs/")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/jobs/$"))  # a page behind sign-in sends here first
    check_page(page, "login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert "/accounts/login/" in page.url
    assert "correct username and password" in page.locator("form").inner_text()
    assert page.get_by_label("Username").input_value() == "alice"  # kept as typed

    page.get_by_label("Password").fill("alice-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/jobs/$"))  # back where the person was going
    assert "alice" in page.locator("header").inner_text()

    page.locator("header summary", has_text="alice").click()  # the account menu holds it
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/accounts/login/$"))  # LOGOUT_REDIRECT_URL
    assert page.locator("header summary").count() == 0  # no account menu: signed out
    page.goto("/jobs/")
    page.wait_for_url(re.compile(r"/accounts/login/"))  # the session really ended


@pytest.mark.urls(__name__)
def test_a_server_error_shows_the_designed_500_page(page: Any, sign_in: Any, alice: Any, browser_problems: Any) -> None:
    browser_problems.allow(500, r"/boom/$")
    sign_in(alice)
    response = page.goto("/boom/")
    assert response is not None and response.status == 500
    assert page.get_by_role("heading", level=1).inner_text() == "Something went wrong on our side"
    check_page(page, "500")
    page.get_by_role("link", name="Go to the dashboard").click()
    page.wait_for_url(re.compile(r"/$"))
