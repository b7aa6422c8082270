"""Hyperparameter sweeps: create, list, read (each trial's settings, status, epochs and validation
metric), cancel (every trial with it), publish the winner under a name.

What the actions mean lives in sweeps.services; this module checks ownership and translates
errors to HTTP. The winner's test evaluation is the one on its job (GET /api/jobs/<winner>/).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.errors import Conflict
from api.permissions import OwnedQuerysetMixin
from api.serializers import EndpointSerializer, HyperparametersField, JobSerializer
from api.throttles import SubmitThrottle, UserThrottle
from api.views.common import COMMON_ERRORS, LIST_ERRORS, OwnedViewMixin, error, owned_row
from api.views.jobs import rejected as jobs_rejected
from builder.codegen.frameworks import CHOICES as FRAMEWORK_CHOICES
from builder.models import Architecture, Dataset
from serving import endpoints
from serving.predict import NotServable
from sweeps import services
from sweeps.models import Sweep, SweepTrial
from sweeps.space import METRICS, SpaceRejected
from workers.lifecycle import JobStateError
from workers.services import JobRejected

NOT_FOUND = {404: error("No such sweep among yours.")}
SPACE_EXAMPLE = {"learning_rate": {"low": 0.0001, "high": 0.1, "log": True}, "batch_size": {"values": [16, 32, 64]},
                 "layers.hidden.units": {"low": 8, "high": 128, "integer": True, "step": 8}}  # fmt: skip


@extend_schema_field({"type": "object", "additionalProperties": {"type": "object"}, "example": SPACE_EXAMPLE,
                      "description": 'What varies, by name: a hyperparameter or "layers.<layer id>.<parameter>", '
                      'each {"values": [...]} or {"low", "high", "log", "integer", "step"} (docs/sweeps.md).'})
class SpaceField(serializers.JSONField):
    pass


@extend_schema_field({"type": "object", "additionalProperties": True, "example": {"learning_rate": 0.0042},
                      "description": "One trial's settings, by their names in the space."})
class ParamsField(serializers.JSONField):
    pass


TEST_EVALUATION = {"type": "object", "additionalProperties": True, "nullable": True,
                   "example": {"split": "test", "task": "classification", "samples": 36, "accuracy": 0.97}}


class SweepCreateSerializer(serializers.Serializer):
    dataset = serializers.IntegerField(help_text="A dataset of yours that is ready.")
    architectures = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=5,
                                          help_text="1-5 of your architectures; with several, each trial trains "
                                          "one of them (the `architecture` setting).")  # fmt: skip
    framework = serializers.ChoiceField(choices=FRAMEWORK_CHOICES)  # the same choice set as a job's: one enum in the schema
    space = SpaceField()
    hyperparameters = HyperparametersField(required=False, help_text="Settings every trial shares.")
    method = serializers.ChoiceField(choices=Sweep.Method.values, default="random",
                                     help_text="grid, random (seeded) or tpe (model-based).")  # fmt: skip
    metric = serializers.ChoiceField(choices=list(METRICS), default="val_loss",
                                     help_text="The validation metric trials are compared on.")  # fmt: skip
    max_trials = serializers.IntegerField(required=False, help_text="How many trials at most (grid: its size).")
    max_seconds = serializers.IntegerField(required=False, allow_null=True,
                                           help_text="No trial starts after this long (running ones finish).")
    parallel = serializers.IntegerField(default=2, help_text="Trials running at once, within your job limit.")
    pruner = serializers.ChoiceField(choices=Sweep.Pruner.values, default="median",
                                     help_text="median: a trial whose validation metric is behind the median of the "
                                     "finished trials' at the same epoch stops early (pruned); none: every trial "
                                     "runs out.")  # fmt: skip
    seed = serializers.IntegerField(default=0, min_value=0, max_value=2**31 - 1)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)


class TrialSerializer(serializers.ModelSerializer):
    params = ParamsField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    status = serializers.CharField(help_text="The job's status (queued, running, succeeded, pruned, failed, "
                                   "cancelled), or failed when no job was started.")  # fmt: skip
    status_display = serializers.SerializerMethodField()
    epochs_run = serializers.SerializerMethodField()
    value = serializers.FloatField(allow_null=True, help_text="The sweep's validation metric of the weights the "
                                   "trial kept (succeeded trials).")  # fmt: skip
    last_value = serializers.SerializerMethodField(help_text="The metric at its last published epoch.")
    error = serializers.SerializerMethodField()

    class Meta:
        model = SweepTrial
        fields = ["number", "params", "job", "status", "status_display", "epochs_run", "value", "last_value", "error"]

    def get_status_display(self, trial: SweepTrial) -> str:
        return trial.job.get_status_display() if trial.job is not None else trial.status.capitalize()

    def get_epochs_run(self, trial: SweepTrial) -> int:
        return trial.job.epoch if trial.job is not None else 0

    def get_last_value(self, trial: SweepTrial) -> float | None:
        if trial.job is None:
            return None
        metric = self.context["metric"]
        rows = [m for m in trial.job.metrics.all() if isinstance((m.values or {}).get(metric), int | float)]
        return float(rows[-1].values[metric]) if rows else None

    def get_error(self, trial: SweepTrial) -> str:
        return trial.error or (trial.job.error if trial.job is not None else "")


class SweepSerializer(serializers.ModelSerializer):
    title = serializers.CharField(read_only=True)
    status_display = serializers.CharField(source="get_status_display")
    architectures = serializers.SerializerMethodField()
    space = SpaceField()
    hyperparameters = HyperparametersField()
    winner = serializers.IntegerField(source="winner_id", allow_null=True,
                                      help_text="The job with the best validation metric, once the sweep ended.")
    winner_test_evaluation = serializers.SerializerMethodField(
        help_text="The winner's evaluation on the test split: the sweep's only look at it (no other trial is "
        "evaluated on test). Null until it is done."
    )  # fmt: skip
    retrained = serializers.IntegerField(source="retrained_id", allow_null=True,
                                         help_text="The job that retrains the winner on train + validation, if asked.")
    trials = serializers.SerializerMethodField()

    class Meta:
        model = Sweep
        fields = ["id", "name", "title", "dataset", "framework", "architectures", "method", "space", "hyperparameters",
                  "metric", "direction", "seed", "max_trials", "max_seconds", "parallel", "pruner", "status",
                  "status_display", "note", "winner", "winner_test_evaluation", "retrained", "created", "finished_at",
                  "trials"]
        read_only_fields = fields

    @extend_schema_field({"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}}}})  # fmt: skip
    def get_architectures(self, sweep: Sweep) -> list[dict[str, Any]]:
        return [{"id": a["id"], "name": a["name"]} for a in sweep.architectures]

    @extend_schema_field(TEST_EVALUATION)
    def get_winner_test_evaluation(self, sweep: Sweep) -> dict[str, Any] | None:
        job = sweep.winner
        if job is None or (job.evaluation or {}).get("split") != "test":
            return None
        keep = ("split", "task", "samples", "accuracy", "macro_f1", "loss", "mae", "rmse", "r2", "model")
        return {k: v for k, v in job.evaluation.items() if k in keep}

    @extend_schema_field(TrialSerializer(many=True))
    def get_trials(self, sweep: Sweep) -> list[dict[str, Any]]:
        return TrialSerializer(sweep.trials.all(), many=True, context={"metric": sweep.metric}).data


class PublishSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64, help_text="1-64 of a-z 0-9 . _ - ; yours only.")

    def validate_name(self, value: str) -> str:
        from serving.models import name_validator

        name_validator(value)
        return value


def rejected(exc: SpaceRejected) -> exceptions.ValidationError:
    return exceptions.ValidationError(exc.field_errors)


@extend_schema_view(
    list=extend_schema(summary="List your sweeps", responses={200: SweepSerializer(many=True), **LIST_ERRORS,
                                                              **COMMON_ERRORS}),
    retrieve=extend_schema(summary="Read a sweep: its trials (settings, status, epochs run, validation metric) and "
                           "its winner's test evaluation", responses={200: SweepSerializer, **NOT_FOUND,
                                                                      **COMMON_ERRORS}),
)  # fmt: skip
class SweepViewSet(OwnedViewMixin, OwnedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   viewsets.GenericViewSet):  # fmt: skip
    model = Sweep
    serializer_class = SweepSerializer
    throttle_classes = [UserThrottle, SubmitThrottle]
    ordering_fields = ["created", "status"]

    def get_queryset(self) -> Any:
        trials = SweepTrial.objects.select_related("job").prefetch_related("job__metrics")
        return super().get_queryset().select_related("winner").prefetch_related(Prefetch("trials", trials))

    @extend_schema(
        summary="Start a sweep",
        description="Trains many trials (ordinary jobs) of your architectures on one dataset, each with settings "
        "from the search space, and compares them on the validation split only. Trials run `parallel` at once "
        "within your job limit and wait beyond it. When the budget is spent the best trial alone is evaluated "
        "on the test split.",
        request=SweepCreateSerializer,
        responses={201: SweepSerializer, 400: error("An invalid field, named (e.g. space.learning_rate)."),
                   404: error("No such dataset or architecture among yours."), **COMMON_ERRORS},
    )  # fmt: skip
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = SweepCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        dataset = owned_row(Dataset, data["dataset"], request.user, "dataset")
        if dataset.status != Dataset.Status.READY:
            raise exceptions.ValidationError({"dataset": [f"Dataset {dataset.pk} is {dataset.status}, not ready."]})
        architectures = [owned_row(Architecture, pk, request.user, "architectures")
                         for pk in dict.fromkeys(data["architectures"])]  # fmt: skip
        hp = data.get("hyperparameters") or {}
        if not isinstance(hp, dict):
            raise exceptions.ValidationError({"hyperparameters": ["Give the shared settings as an object."]})
        try:
            sweep = services.create_sweep(
                request.user, dataset=dataset, architectures=architectures, framework=data["framework"],
                space=data["space"], hyperparameters=hp, method=data["method"], metric=data["metric"],
                max_trials=data.get("max_trials"), max_seconds=data.get("max_seconds"), parallel=data["parallel"],
                pruner=data["pruner"], seed=data["seed"], name=data.get("name", ""),
            )  # fmt: skip
        except SpaceRejected as exc:
            raise rejected(exc) from None
        return Response(SweepSerializer(self.get_queryset().get(pk=sweep.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Cancel a sweep and every queued or running trial", request=None,
                   responses={200: SweepSerializer, **NOT_FOUND, 409: error("The sweep has already ended."),
                              **COMMON_ERRORS})  # fmt: skip
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        sweep = self.get_object()
        try:
            services.cancel_sweep(sweep)
        except JobStateError as exc:
            raise Conflict(str(exc)) from None
        return Response(SweepSerializer(self.get_queryset().get(pk=sweep.pk)).data)

    @extend_schema(summary="Retrain the winner on the training and validation rows together",
                   description="A new job with the winner's spec and settings, for as many epochs as the winner "
                   "kept, without early stopping (no rows are left to validate on), evaluated on the test split. "
                   "Once per sweep.", request=None,
                   responses={201: JobSerializer, 400: error("Your job limit or storage quota is reached."),
                              **NOT_FOUND, 409: error("The sweep has not finished, or was retrained already."),
                              **COMMON_ERRORS})  # fmt: skip
    @action(detail=True, methods=["post"])
    def retrain(self, request: Request, pk: str | None = None) -> Response:
        sweep = self.get_object()
        try:
            job = services.retrain_winner(sweep)
        except JobStateError as exc:
            raise Conflict(str(exc)) from None
        except JobRejected as exc:
            raise jobs_rejected(exc) from None
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Publish the sweep's winner as a named model endpoint", request=PublishSerializer,
                   responses={201: EndpointSerializer, 200: EndpointSerializer, 400: error("Invalid name."),
                              **NOT_FOUND, 409: error("The sweep has no winner yet."), **COMMON_ERRORS})  # fmt: skip
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        sweep = self.get_object()
        body = PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if sweep.winner is None or sweep.status != Sweep.Status.FINISHED:
            raise Conflict(f"Sweep {sweep.pk} is {sweep.status} and has no evaluated winner to publish yet.")
        try:
            endpoint, created = endpoints.publish(request.user, body.validated_data["name"], sweep.winner)
        except NotServable as exc:
            raise Conflict(str(exc)) from None
        except endpoints.TooManyNames as exc:
            raise exceptions.ValidationError({"name": [str(exc)]}) from None
        endpoint = type(endpoint).objects.prefetch_related("history").get(pk=endpoint.pk)
        return Response(EndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED if created else 200)
