"""Look-alike usernames are refused wherever the app creates accounts; the rule is on the form."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-passphrase-9"
LOOK_ALIKES = ["\u0430lice", "al\u0456ce", "ａｌｉｃｅ", "alice\u200b", "Alicé"]  # Cyrillic а, Ukrainian і, full-width, zero-width space, accent


@pytest.mark.parametrize("username", LOOK_ALIKES)
def test_signup_refuses_a_look_alike_username(client: Client, alice: Any, username: str) -> None:
    response = client.post("/accounts/signup/", {"username": username, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 400
    # Full-width letters fold to plain "alice" (Django's NFKC), which is taken; the others are not ASCII.
    page = response.content.decode()
    assert "characters that are not allowed" in page or "A user with that username already exists." in page
    assert get_user_model().objects.count() == 1


def test_signup_refuses_a_name_differing_only_in_case(client: Client, alice: Any) -> None:
    response = client.post("/accounts/signup/", {"username": "ALICE", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 400
    assert get_user_model().objects.count() == 1


def test_the_rule_is_stated_on_the_signup_form(client: Client) -> None:
    assert "no accents or other scripts" in client.get("/accounts/signup/").content.decode()


def test_plain_names_still_sign_up(client: Client) -> None:
    response = client.post("/accounts/signup/", {"username": "carol.b-2_x@lab", "password1": PASSWORD,
                                                 "password2": PASSWORD})  # fmt: skip
    assert response.status_code == 302


def test_the_admin_add_user_form_refuses_look_alikes(client: Client, django_user_model: Any) -> None:
    client.force_login(django_user_model.objects.create_user("staff", password="x", is_staff=True, is_superuser=True))
    form = client.get("/admin/auth/user/add/").content.decode()
    assert "no accents or other scripts" in form
    response = client.post("/admin/auth/user/add/", {"username": "\u0430lice", "password1": PASSWORD,
                                                     "password2": PASSWORD, "usable_password": "true"})  # fmt: skip
    assert response.status_code == 200  # the form again, with the error
    assert "characters that are not allowed" in response.content.decode()
    assert not django_user_model.objects.filter(username="\u0430lice").exists()
