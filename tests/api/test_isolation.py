"""Bob can neither see nor touch anything of Alice's, through any endpoint under /api/.

The endpoints are not listed by hand: they are read from the URL configuration, and every
route with an object id in its path is called by Bob with Alice's ids, with every HTTP
method the route accepts. Each must answer 404 and leave Alice's rows and files exactly as
they were. Routes without ids must appear in COLLECTION_CASES, so adding an endpoint
without deciding how it is isolated fails this test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.forms.models import model_to_dict
from django.urls import URLPattern, URLResolver, get_resolver

from builder.models import Architecture, Dataset
from serving.models import EndpointHistory, ModelEndpoint
from sweeps.models import Sweep
from tests.api.conftest import add_artifact, make_job
from workers.models import Artifact, Estimate, Metric, TrainingJob

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


def api_routes() -> Iterator[tuple[str, URLPattern]]:
    """(full regex, pattern) for every route under api/."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, URLPattern]]:
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            else:
                yield route, pattern

    for route, pattern in walk(get_resolver().url_patterns, "/"):
        if route.startswith("/api/") and pattern.name != "not-found":
            yield route, pattern


def methods_of(pattern: URLPattern) -> list[str]:
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:  # a viewset route: exactly the methods it maps
        return sorted(m for m in actions if m in METHODS)
    view_class = callback.view_class  # type: ignore[attr-defined]
    return [m for m in METHODS if hasattr(view_class, m)]


def fill(route: str, ids: dict[str, Any]) -> str:
    def substitute(match: re.Match[str]) -> str:
        return str(ids[match.group(1)])

    return re.sub(r"\(\?P<(\w+)>[^)]*\)", substitute, route).replace("\\", "")


def snapshot(user: Any) -> dict[str, Any]:
    """Every row and artifact file of the user, to compare before and after."""
    jobs = TrainingJob.objects.filter(owner=user).order_by("pk")
    return {
        "architectures": [model_to_dict(a) for a in Architecture.objects.filter(owner=user).order_by("pk")],
        "datasets": [model_to_dict(d) for d in Dataset.objects.filter(owner=user).order_by("pk")],
        "jobs": [model_to_dict(j) for j in jobs],
        "metrics": [model_to_dict(m) for m in Metric.objects.filter(job__in=jobs).order_by("pk")],
        "artifacts": [model_to_dict(a) for a in Artifact.objects.filter(job__in=jobs).order_by("pk")],
        "files": [a.absolute_path.read_bytes() for a in Artifact.objects.filter(job__in=jobs).order_by("pk")],
        "job_count": TrainingJob.objects.count(),
        "endpoints": [model_to_dict(e) for e in ModelEndpoint.objects.filter(owner=user).order_by("pk")],
        "endpoint_history": [model_to_dict(h) for h in EndpointHistory.objects.filter(job__in=jobs).order_by("pk")],
    }


@pytest.fixture(params=["running", "failed"])
def alice_world(request: Any, alice: Any, alice_architecture: Any, alice_dataset: Any) -> dict[str, Any]:
    """Alice's objects; her job is running (so a cancel would act) or failed (so a retry would)."""
    job = make_job(alice, alice_dataset, alice_architecture, status=request.param)
    Metric.objects.create(job=job, epoch=1, step=5, values={"loss": 0.5})
    artifact = add_artifact(job)
    endpoint = ModelEndpoint.objects.create(owner=alice, name="alices-model", job=job)
    EndpointHistory.objects.create(endpoint=endpoint, job=job, since=job.created)
    estimate = Estimate.objects.create(owner=alice, request={"dataset": alice_dataset.pk}, queue="api-tests-unconsumed")
    frozen = [{"id": alice_architecture.pk, "name": alice_architecture.name, "spec": alice_architecture.spec}]
    sweep = Sweep.objects.create(owner=alice, dataset=alice_dataset, framework="torch", architectures=frozen,
                                 space={"learning_rate": {"low": 0.001, "high": 0.1}})  # fmt: skip
    return {"architecture": alice_architecture, "dataset": alice_dataset, "job": job, "artifact": artifact,
            "model": endpoint, "estimate": estimate, "sweep": sweep}  # fmt: skip


def object_ids(route: str, name: str, world: dict[str, Any]) -> dict[str, Any]:
    resource = name.split("-")[0]
    ids: dict[str, Any] = {}
    for key in re.findall(r"\(\?P<(\w+)>", route):
        if key == "pk":
            assert resource in world, f"{name}: add Alice's {resource} to alice_world so its isolation is tested"
            ids[key] = world[resource].pk
        elif key == "name":  # named model endpoints are looked up by their name
            assert resource in world, f"{name}: add Alice's {resource} to alice_world so its isolation is tested"
            ids[key] = world[resource].name
        elif key.endswith("_id") and key[:-3] in world:
            ids[key] = world[key[:-3]].pk
        else:
            raise AssertionError(f"{name}: no rule for path parameter {key!r}; extend object_ids()")
    return ids


# Routes whose GET needs a query to answer 200 (Bob gets 404 before the query is read).
OWNER_QUERY = {"job-examples": "?true=0&pred=0"}


def body_for(name: str, world: dict[str, Any]) -> dict[str, Any]:
    """A valid body, so a 404 cannot come from validation instead of ownership."""
    if name == "architecture-detail":
        return {"name": "taken", "spec": world["architecture"].spec}
    return {}


def test_every_object_route_is_404_for_another_user(
    alice: Any, alice_api: Any, bob_api: Any, alice_world: dict[str, Any]
) -> None:
    checked = []
    before = snapshot(alice)
    for route, pattern in api_routes():
        if "(?P<" not in route:
            continue
        url = fill(route, object_ids(route, str(pattern.name), alice_world))
        for method in methods_of(pattern):
            response = getattr(bob_api, method)(url, body_for(str(pattern.name), alice_world), format="json")
            assert response.status_code == 404, f"bob {method.upper()} {url} -> {response.status_code}"
            assert response.json()["code"] == "not_found"
            checked.append(f"{method.upper()} {pattern.name}")
            if method == "get":  # and the owner does get it
                owner_url = url + OWNER_QUERY.get(str(pattern.name), "")
                assert alice_api.get(owner_url).status_code == 200, f"alice GET {owner_url}"
    assert snapshot(alice) == before
    # Every kind of object route was exercised (guards against the walk silently finding nothing).
    for expected in ("DELETE architecture-detail", "PUT architecture-detail", "GET architecture-codegen",
                     "DELETE dataset-detail", "DELETE job-detail", "POST job-cancel", "POST job-retry",
                     "GET job-artifact-download", "GET job-metrics", "GET job-artifacts", "POST job-predict",
                     "GET model-detail", "DELETE model-detail", "POST model-predict", "GET job-examples",
                     "GET job-estimate-detail", "GET sweep-detail", "POST sweep-cancel",
                     "POST sweep-publish"):  # fmt: skip
        assert expected in checked


# --- routes without ids: each must say how it is isolated ------------------------------


def _lists_nothing_of_alice(url: str) -> Callable[[Any, dict[str, Any]], None]:
    def check(bob_api: Any, world: dict[str, Any]) -> None:
        body = bob_api.get(url).json()
        assert body["count"] == 0 and body["results"] == [], url

    return check


def _job_naming_alices(field: str, url: str = "/api/jobs/") -> Callable[[Any, dict[str, Any]], None]:
    def check(bob_api: Any, world: dict[str, Any]) -> None:
        from builder.spec import presets

        bob = world["bob"]
        bobs_dataset = Dataset.objects.create(owner=bob, name="b", kind="tabular", status="ready", sha256="1" * 64,
                                              task="classification", input_shape=[16], num_classes=3)  # fmt: skip
        bobs_arch = Architecture.objects.create(owner=bob, name="b", spec=presets()["mlp"])
        body = {"framework": "keras", "dataset": bobs_dataset.pk, "architecture": bobs_arch.pk}
        body[field] = world[field].pk
        response = bob_api.post(url, body, format="json")
        assert response.status_code == 404, response.json()
        assert response.json()["errors"][0]["field"] == field
        assert not TrainingJob.objects.filter(owner=bob).exists()

    return check


def _endpoint_naming_alices_job(bob_api: Any, world: dict[str, Any]) -> None:
    response = bob_api.post("/api/models/", {"name": "mine", "job": world["job"].pk}, format="json")
    assert response.status_code == 404, response.json()
    assert response.json()["errors"][0]["field"] == "job"
    assert not ModelEndpoint.objects.filter(owner=world["bob"]).exists()


def _sweep_naming_alices(field: str) -> Callable[[Any, dict[str, Any]], None]:
    def check(bob_api: Any, world: dict[str, Any]) -> None:
        bobs = Dataset.objects.create(owner=world["bob"], name="bob's", kind="tabular", status="ready")
        body = {"dataset": world["dataset"].pk if field == "dataset" else bobs.pk,
                "architectures": [world["architecture"].pk], "framework": "torch",
                "space": {"learning_rate": {"low": 0.001, "high": 0.1}}}  # fmt: skip
        response = bob_api.post("/api/sweeps/", body, format="json")
        assert response.status_code == 404 and response.json()["errors"][0]["field"] == field, response.json()
        assert not Sweep.objects.filter(owner=world["bob"]).exists()

    return check


def _public(url: str) -> Callable[[Any, dict[str, Any]], None]:
    def check(bob_api: Any, world: dict[str, Any]) -> None:
        assert bob_api.get(url).status_code == 200

    return check


def _presets_fitted_to_alices_dataset(bob_api: Any, world: dict[str, Any]) -> None:
    response = bob_api.get(f"/api/presets/?dataset={world['dataset'].pk}")
    assert response.status_code == 404 and response.json()["errors"][0]["field"] == "dataset"


def _architecture_from_alices_dataset(bob_api: Any, world: dict[str, Any]) -> None:
    body = {"preset": "mlp", "dataset": world["dataset"].pk}
    response = bob_api.post("/api/architectures/", body, format="json")
    assert response.status_code == 404 and response.json()["errors"][0]["field"] == "dataset"
    assert not Architecture.objects.filter(owner=world["bob"]).exists()


def _validated_against_alices_dataset(bob_api: Any, world: dict[str, Any]) -> None:
    body = {"spec": world["architecture"].spec, "dataset": world["dataset"].pk}
    response = bob_api.post("/api/architectures/validate/", body, format="json")
    assert response.status_code == 404 and response.json()["errors"][0]["field"] == "dataset"


def _own_usage_only(bob_api: Any, world: dict[str, Any]) -> None:
    """Alice's files (her job's artifact) are not counted in Bob's use."""
    assert world["artifact"].absolute_path.stat().st_size > 0
    assert bob_api.get("/api/usage/").json()["used_bytes"] == 0


def _own_token_only(bob_api: Any, world: dict[str, Any]) -> None:
    """Revoking or rotating acts on the caller's own token: Alice's keeps working."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from tests.api.conftest import token_client

    alices = token_client(world["architecture"].owner)
    key = Token.objects.get(user=world["architecture"].owner).key
    carol, _ = get_user_model().objects.get_or_create(username="carol")  # Bob's client stays usable
    carols = token_client(carol)
    assert carols.post("/api/auth/token/rotate/").status_code == 200
    assert carols.delete("/api/auth/token/").status_code == 401  # the rotated-out token is gone
    assert alices.get("/api/architectures/").status_code == 200
    assert Token.objects.get(user=world["architecture"].owner).key == key


def _logs_of_alices_job(bob_api: Any, world: dict[str, Any]) -> None:
    response = bob_api.get(f"/api/jobs/logs/?ids={world['job'].pk}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def _no_object(bob_api: Any, world: dict[str, Any]) -> None:
    """Takes a spec in the body and stores nothing: there is no one else's object to reach."""


def _own_objects_only(bob_api: Any, world: dict[str, Any]) -> None:
    """Creates an object owned by the caller (tested in test_architectures / test_datasets)."""


COLLECTION_CASES: dict[tuple[str, str], list[Callable[[Any, dict[str, Any]], None]]] = {
    ("architecture-list", "get"): [_lists_nothing_of_alice("/api/architectures/")],
    ("architecture-list", "post"): [_own_objects_only, _architecture_from_alices_dataset],
    ("architecture-validate-new", "post"): [_no_object, _validated_against_alices_dataset],
    ("architecture-codegen-new", "post"): [_no_object],
    ("dataset-list", "get"): [_lists_nothing_of_alice("/api/datasets/")],
    ("dataset-list", "post"): [_own_objects_only],
    ("dataset-demo", "get"): [_public("/api/datasets/demo/")],
    ("dataset-demo", "post"): [_own_objects_only],
    ("dataset-inspect", "post"): [_no_object],
    ("job-list", "get"): [_lists_nothing_of_alice("/api/jobs/"), _lists_nothing_of_alice("/api/jobs/?status=running")],
    ("job-list", "post"): [_job_naming_alices("dataset"), _job_naming_alices("architecture")],
    ("model-list", "get"): [_lists_nothing_of_alice("/api/models/")],
    ("model-list", "post"): [_endpoint_naming_alices_job],
    ("sweep-list", "get"): [_lists_nothing_of_alice("/api/sweeps/")],
    ("sweep-list", "post"): [_sweep_naming_alices("dataset"), _sweep_naming_alices("architectures")],
    ("job-estimate", "post"): [_job_naming_alices("dataset", "/api/jobs/estimate/"),
                               _job_naming_alices("architecture", "/api/jobs/estimate/")],
    ("job-logs", "get"): [_logs_of_alices_job],
    ("token", "post"): [_no_object],
    ("token", "delete"): [_own_token_only],
    ("token-rotate", "post"): [_own_token_only],
    ("layers", "get"): [_public("/api/layers/")],
    ("presets", "get"): [_public("/api/presets/"), _presets_fitted_to_alices_dataset],
    ("usage", "get"): [_own_usage_only],
    ("schema", "get"): [_public("/api/schema/")],
    ("docs", "get"): [_public("/api/docs/")],
}


def test_every_collection_route_has_an_isolation_case(
    alice: Any, bob: Any, bob_api: Any, alice_world: dict[str, Any], settings: Any
) -> None:
    settings.LAYERLOOM_TRAINING_QUEUE = "api-tests-unconsumed"
    world = {**alice_world, "bob": bob}
    before = snapshot(alice)
    seen = set()
    for route, pattern in api_routes():
        if "(?P<" in route:
            continue
        for method in methods_of(pattern):
            key = (str(pattern.name), method)
            assert key in COLLECTION_CASES, f"{method.upper()} {route} has no isolation case: add one"
            seen.add(key)
            for check in COLLECTION_CASES[key]:
                check(bob_api, world)
    assert seen == set(COLLECTION_CASES), f"stale cases: {set(COLLECTION_CASES) - seen}"
    assert snapshot(alice) == before
