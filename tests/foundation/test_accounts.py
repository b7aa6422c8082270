"""Sign up, log in, log out, change password; everything else needs a signed-in user."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/admin/"])
def test_anonymous_requests_redirect_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_signup_creates_the_account_and_signs_in(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "carol", "password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"},
    )
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="carol").exists()
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert b"Welcome, carol" in dashboard.content


def test_signup_with_mismatched_passwords_says_so(client):
    response = client.post(
        "/accounts/signup/", {"username": "dave", "password1": "a-long-passphrase-9", "password2": "other-9"}
    )
    assert response.status_code == 400
    assert b"password fields didn" in response.content
    assert not get_user_model().objects.filter(username="dave").exists()


def test_login_then_logout(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_login_with_a_wrong_password_fails(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"enter a correct username and password" in response.content
    assert client.get("/").status_code == 302


def test_change_password(client, alice):
    client.force_login(alice)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": "alice-password-1", "new_password1": "new-passphrase-42", "new_password2": "new-passphrase-42"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("new-passphrase-42")


def test_dashboard_shows_the_navigation(alice_client):
    page = alice_client.get("/").content.decode()
    for link in ("Dashboard", "API", "Log out", "Change password"):
        assert link in page


def test_admin_is_for_staff_only(client, alice, django_user_model):
    client.force_login(alice)
    assert client.get("/admin/").status_code == 302
    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_demo_account_command_is_idempotent(capsys):
    from django.core.management import call_command

    call_command("ensure_demo_user")
    call_command("ensure_demo_user")
    out = capsys.readouterr().out
    assert "username 'demo'" in out
    assert get_user_model().objects.filter(username="demo").count() == 1
    assert get_user_model().objects.get(username="demo").check_password("layerloom-demo")
