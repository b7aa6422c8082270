"""Password guessing meets one set of limits, whatever door, address header or process it uses.

Each test replays a way around the limits that once worked: a new X-Forwarded-For per
request, the HTML login form (which had no limit), counters kept per web process, and the
right password arriving mid-lockout.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import connections
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from tests.support.cache import clear_cache
from tests.support.workers import ROOT, worker_env
from tests.workers.helpers import wait_for
from webapp import signin_limits

pytestmark = pytest.mark.django_db

RIGHT = "alice-password-1"


def token(client: Any, password: str, username: str = "alice", **extra: Any) -> Any:
    return client.post("/api/auth/token/", {"username": username, "password": password}, format="json", **extra)


def form_login(client: Client, password: str, username: str = "alice", **extra: Any) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


@pytest.fixture
def limits(settings: Any) -> Any:
    settings.LAYERLOOM_SIGNIN_MAX_FAILURES_PER_ACCOUNT = 3
    settings.LAYERLOOM_SIGNIN_MAX_FAILURES_PER_ADDRESS = 5
    settings.LAYERLOOM_SIGNIN_LOCKOUT_SECONDS = 240
    return settings


def test_rotating_forwarded_for_does_not_reset_the_address_throttle(alice: Any, settings: Any) -> None:
    settings.LAYERLOOM_API_THROTTLE_RATES = {**settings.LAYERLOOM_API_THROTTLE_RATES, "auth": "3/minute"}
    client = APIClient()
    codes = [token(client, f"guess{i}", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(4)]
    assert codes == [400, 400, 400, 429]


def test_behind_a_trusted_proxy_each_client_address_counts_on_its_own(alice: Any, settings: Any) -> None:
    settings.LAYERLOOM_TRUSTED_PROXIES = 1
    settings.LAYERLOOM_API_THROTTLE_RATES = {**settings.LAYERLOOM_API_THROTTLE_RATES, "auth": "2/minute"}
    client = APIClient()
    # What the client wrote left of the proxy's entry is ignored: it is one address throughout.
    first = [token(client, "x", HTTP_X_FORWARDED_FOR=f"10.9.9.{i}, 203.0.113.5").status_code for i in range(3)]
    assert first == [400, 400, 429]
    assert token(client, "x", HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 400


def test_login_form_locks_the_account_and_refuses_the_right_password(alice: Any, limits: Any) -> None:
    client = Client()
    for i in range(3):
        assert b"enter a correct username and password" in form_login(client, f"guess{i}").content
    response = form_login(client, RIGHT)
    assert "Too many failed sign-ins for this account. Try again in 4 minutes." in response.content.decode()
    assert client.get("/").status_code == 302  # not signed in
    # The token endpoint is the same account behind another door.
    refused = token(APIClient(), RIGHT)
    assert refused.status_code == 429
    assert refused.json()["message"] == "Too many failed sign-ins for this account. Try again in 4 minutes."
    assert int(refused["Retry-After"]) > 200


def test_token_endpoint_locks_the_account_from_any_address(alice: Any, limits: Any) -> None:
    client = APIClient()
    for i in range(3):
        assert token(client, f"guess{i}", REMOTE_ADDR=f"192.0.2.{i}").status_code == 400
    response = token(client, RIGHT, REMOTE_ADDR="192.0.2.200")
    assert response.status_code == 429
    assert "token" not in response.json()
    assert "for this account" in response.json()["message"]
    # The admin's log-in form is a third door to the same account.
    admin = Client().post("/admin/login/", {"username": "alice", "password": RIGHT})
    assert "Too many failed sign-ins for this account" in admin.content.decode()


def test_many_accounts_from_one_address_lock_the_address(alice: Any, bob: Any, limits: Any) -> None:
    client = Client()
    for i in range(5):
        form_login(client, "guess", username=f"user{i}")
    response = form_login(client, RIGHT)
    assert "Too many failed sign-ins from your address." in response.content.decode()
    # Another address still signs alice in.
    other = Client(REMOTE_ADDR="192.0.2.77")
    assert form_login(other, RIGHT).status_code == 302


def test_rotating_forwarded_for_does_not_dodge_the_login_form_address_limit(alice: Any, limits: Any) -> None:
    client = Client()
    for i in range(5):
        form_login(client, "guess", username=f"user{i}", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    response = form_login(client, RIGHT, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert "Too many failed sign-ins from your address." in response.content.decode()


def test_a_right_password_before_the_limit_clears_the_account_count(alice: Any, limits: Any) -> None:
    client = APIClient()
    for _ in range(2):
        assert token(client, "guess").status_code == 400
    assert token(client, RIGHT).status_code == 200
    for _ in range(2):
        assert token(client, "guess").status_code == 400
    assert token(client, RIGHT).status_code == 200


def test_the_lockout_ends_after_its_time(alice: Any, limits: Any) -> None:
    limits.LAYERLOOM_SIGNIN_LOCKOUT_SECONDS = 1
    client = APIClient()
    for _ in range(3):
        token(client, "guess")
    assert token(client, RIGHT).status_code == 429
    wait_for(lambda: token(client, RIGHT).status_code == 200, 10, 0.1, "the lockout to end")


GUESSER = """
import django
django.setup()
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import connections
from django.test import Client, RequestFactory
client = Client()
for i in range(3):
    client.post("/api/auth/token/", {"username": "alice", "password": f"g{i}"}, content_type="application/json")
    client.post("/accounts/login/", {"username": "alice", "password": f"g{i}"})
"""


@pytest.mark.django_db(transaction=True)
def test_counters_are_shared_by_every_process(alice: Any, limits: Any) -> None:
    """Another process (another web worker) guesses; this one must see its counts."""
    limits.LAYERLOOM_API_THROTTLE_RATES = {**limits.LAYERLOOM_API_THROTTLE_RATES, "auth": "5/minute"}
    env = worker_env({"LAYERLOOM_SIGNIN_MAX_FAILURES_PER_ACCOUNT": "3", "LAYERLOOM_API_AUTH_RATE": "5/minute",
                      "LAYERLOOM_SIGNIN_LOCKOUT_SECONDS": "240"})  # fmt: skip
    try:
        subprocess.run([sys.executable, "-c", GUESSER], cwd=ROOT, env=env, check=True, timeout=120)
        response = token(APIClient(), RIGHT)
        assert response.status_code == 429
        assert "for this account" in response.json()["message"]  # the other process's failures locked it
        # Its three token requests and the one above make four of five for this address: one more is allowed.
        assert token(APIClient(), "x", username="nobody").status_code == 400
        assert token(APIClient(), "x", username="nobody2").status_code == 429
        assert form_login(Client(), RIGHT).status_code == 200  # the form refuses too
    finally:
        clear_cache()


@pytest.mark.django_db(transaction=True)
def test_failures_arriving_at_once_are_all_counted(alice: Any, limits: Any) -> None:
    """Parallel wrong passwords (one per web thread) each count: none is lost to a race.

    The database cache's own incr is a read then a write, so two failures at once counted
    as one, and a guesser sending bursts got many times the limit.
    """
    threads, each = 8, 5
    limits.LAYERLOOM_SIGNIN_MAX_FAILURES_PER_ACCOUNT = threads * each
    limits.LAYERLOOM_SIGNIN_MAX_FAILURES_PER_ADDRESS = 10_000
    start = threading.Barrier(threads)

    def guesser(number: int) -> None:
        try:
            request = RequestFactory().post("/api/auth/token/", REMOTE_ADDR=f"192.0.2.{number}")
            start.wait()
            for _ in range(each):
                assert signin_limits.reserve_attempt(request, "alice") is None
                signin_limits.record_failure(request, "alice")
        finally:
            connections.close_all()  # this thread's own connection

    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(guesser, range(threads)))
        locked = signin_limits.lockout(RequestFactory().post("/", REMOTE_ADDR="192.0.2.200"), "alice")
        assert locked is not None and locked.what == "account"
    finally:
        clear_cache()


@pytest.mark.django_db(transaction=True)
def test_the_cache_counts_concurrent_increments_exactly() -> None:
    threads, each = 8, 25
    cache.add("concurrent-counter", 0, timeout=60)
    start = threading.Barrier(threads)

    def count(_: int) -> None:
        try:
            start.wait()
            for _ in range(each):
                cache.incr("concurrent-counter")
        finally:
            connections.close_all()

    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(count, range(threads)))
        assert cache.get("concurrent-counter") == threads * each
    finally:
        clear_cache()


def test_an_increment_keeps_the_counter_expiry() -> None:
    """A counter set for its window lasts that window however often it is incremented."""
    cache.set("window-counter", 0, timeout=2)
    cache.incr("window-counter")
    cache.incr("window-counter", 4)
    assert cache.get("window-counter") == 5
    # Expiries have whole-second resolution in the database cache: gone within 3 s, not 300.
    wait_for(lambda: cache.get("window-counter") is None, 5, 0.1, "the counter to expire")
    with pytest.raises(ValueError):
        cache.incr("window-counter")


CHECKED: list[str] = []
GUESSES_DONE = threading.Event()


class SlowPasswordCheck(ModelBackend):
    """The real backend, slowed as a strong hash is and counting the passwords it checks, so
    that a burst's requests are all in flight together."""

    def authenticate(self, request: Any, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> Any:  # fmt: skip
        CHECKED.append(password or "")
        time.sleep(0.3)
        if password == RIGHT:  # a success clears the count: hold it until the burst has been answered
            GUESSES_DONE.wait(30)
        return super().authenticate(request, username=username, password=password, **kwargs)


DOORS = {
    "token": (lambda c, p: c.post("/api/auth/token/", {"username": "alice", "password": p},
                                  content_type="application/json"), 200, 429),  # fmt: skip
    "form": (lambda c, p: c.post("/accounts/login/", {"username": "alice", "password": p}), 302, 200),
    "admin": (lambda c, p: c.post("/admin/login/", {"username": "alice", "password": p}), 302, 200),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("right", ["last", "first"])
@pytest.mark.parametrize("door", sorted(DOORS))
def test_a_burst_of_parallel_guesses_checks_no_more_passwords_than_the_limit(
    alice: Any, limits: Any, door: str, right: str
) -> None:
    """Twelve requests at once, one with the right password: at most the limit's worth of
    passwords is checked (three here), wherever the right one falls in the burst."""
    limits.AUTHENTICATION_BACKENDS = [f"{__name__}.SlowPasswordCheck"]
    limits.LAYERLOOM_SIGNIN_MAX_FAILURES_PER_ADDRESS = 1000
    limits.LAYERLOOM_API_THROTTLE_RATES = {**limits.LAYERLOOM_API_THROTTLE_RATES, "auth": "1000/minute"}
    alice.is_staff = True  # the admin's door lets staff in only
    alice.save()
    send, signed_in, refused = DOORS[door]
    wrong = 11
    start = threading.Barrier(wrong)
    CHECKED.clear()
    GUESSES_DONE.clear()

    def attempt(password: str, together: bool) -> int:
        try:
            if together:
                start.wait()
            return send(Client(), password).status_code
        finally:
            connections.close_all()

    try:
        with ThreadPoolExecutor(wrong + 1) as pool:
            if right == "first":
                first = pool.submit(attempt, RIGHT, False)
                wait_for(lambda: RIGHT in CHECKED, 10, 0.01, "the right password to be under check")
            guesses = [pool.submit(attempt, f"guess{i}", True) for i in range(wrong)]
            if right == "last":
                GUESSES_DONE.set()
                wait_for(lambda: len(CHECKED) >= 3, 10, 0.01, "the first guesses to be under check")
                first = pool.submit(attempt, RIGHT, False)
            codes = [g.result() for g in guesses]
            GUESSES_DONE.set()
            answer = first.result()
        assert len(CHECKED) == 3, CHECKED
        if right == "last":
            assert RIGHT not in CHECKED and answer == refused
        else:
            assert CHECKED[0] == RIGHT and answer == signed_in
        assert codes.count(refused) >= wrong - 3
    finally:
        clear_cache()
