"""Training jobs: submit, list, read, poll metrics, cancel, retry, artifacts, predict.

What cancel, retry and submit mean lives in workers.services (the admin calls the same
functions); this module only checks ownership and translates errors to HTTP.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response

from api import request_cache
from api.errors import Conflict, SignInLocked
from api.filters import Filter
from api.permissions import OwnedQuerysetMixin
from api.serializers import (
    ArtifactSerializer,
    EstimateStatusSerializer,
    ExamplesQuerySerializer,
    ExamplesSerializer,
    JobCreateSerializer,
    JobSerializer,
    MetricsQuerySerializer,
    MetricsSerializer,
)
from api.throttles import SubmitThrottle, UserThrottle
from api.views.common import COMMON_ERRORS, LIST_ERRORS, OwnedViewMixin, error, owned_row
from api.views.predict import PARSERS, predict_response, predict_schema
from builder.codegen.frameworks import NAMES
from builder.datasets.kinds import get_kind
from builder.limits import spec_limits
from builder.models import Architecture, Dataset
from builder.spec import validate_spec
from serving.predict import predict
from serving.sessions import PREDICT_FIELDS, onnx_annotations, servable
from workers import deletion, estimates, services
from workers.downloads import MissingFile, artifact_response
from workers.examples import NoExamples, cell_examples
from workers.hyperparameters import Hyperparameters
from workers.models import Artifact, Estimate, TrainingJob

NOT_FOUND = {404: error("No such job among yours.")}
MAX_METRICS_PER_POLL = 1000


class AnyAccept(DefaultContentNegotiation):
    """Downloads answer whatever the client accepts: the file as it is, or a JSON error."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


def rejected(exc: services.JobRejected) -> exceptions.ValidationError:
    """JobRejected's {field: [messages]}, with hyperparameter fields under `hyperparameters.`."""
    out: dict[str, list[str]] = {}
    for field, messages in exc.field_errors.items():
        head = field.split(".")[0]
        name = f"hyperparameters.{field}" if head in Hyperparameters.model_fields else field
        out.setdefault(name, []).extend(messages)
    return exceptions.ValidationError(out)


@extend_schema_view(
    list=extend_schema(summary="List your jobs", responses={200: JobSerializer(many=True), **LIST_ERRORS,
                                                            **COMMON_ERRORS}),
    retrieve=extend_schema(summary="Read a job: status, progress, device, evaluation",
                           responses={200: JobSerializer, **NOT_FOUND, **COMMON_ERRORS}),
    destroy=extend_schema(summary="Delete a finished job with its metrics, artifacts and files",
                          responses={204: None, **NOT_FOUND, 409: error("The job is queued or running; cancel it "
                                                                        "first."), **COMMON_ERRORS}),
)  # fmt: skip
class JobViewSet(
    OwnedViewMixin,
    OwnedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    model = TrainingJob
    serializer_class = JobSerializer
    throttle_classes = [UserThrottle, SubmitThrottle]
    filters = [
        Filter("status", "status", "choice", tuple(TrainingJob.Status.values)),
        Filter("framework", "framework", "choice", NAMES),
        Filter("dataset", "dataset_id", "int", description="Only jobs trained on this dataset id."),
        Filter("architecture", "architecture_id", "int", description="Only jobs of this architecture id."),
    ]
    ordering_fields = ["created", "status", "finished_at"]

    def get_queryset(self) -> Any:
        if self.action == "predict":  # the job's state and its model file's identity in one short query
            return super().get_queryset().only(*PREDICT_FIELDS).annotate(**onnx_annotations())
        return super().get_queryset()

    @extend_schema(
        summary="Start a training job",
        description="Trains `architecture` (or an inline `spec`) on `dataset`. The job is queued at once; poll it "
        "or its metrics. Naming another user's dataset or architecture answers 404.",
        request=JobCreateSerializer,
        responses={201: JobSerializer, 400: error("Invalid fields, the dataset not ready, or the quota reached."),
                   404: error("No such dataset or architecture among yours."),
                   503: error("The broker did not take the job: it is failed with that message; retry it later."),
                   **COMMON_ERRORS},
    )  # fmt: skip
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        inputs = self._job_inputs(request)
        try:
            job = services.submit_job(request.user, **inputs)
        except services.JobRejected as exc:
            raise rejected(exc) from None
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)

    def _job_inputs(self, request: Request) -> dict[str, Any]:
        """The body of a job (create and estimate): the caller's own dataset and architecture."""
        body = JobCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        dataset = owned_row(Dataset, data["dataset"], request.user, "dataset")
        architecture = None
        if data.get("architecture") is not None:
            architecture = owned_row(Architecture, data["architecture"], request.user, "architecture")
        hyperparameters = data.get("hyperparameters")
        if hyperparameters is not None and not isinstance(hyperparameters, dict):
            raise exceptions.ValidationError({"hyperparameters": ["Give the hyperparameters as an object."]})
        return {"architecture": architecture, "spec": data.get("spec"), "dataset": dataset,
                "framework": data["framework"], "hyperparameters": hyperparameters}  # fmt: skip

    @extend_schema(
        summary="Estimate a job before starting it: a dry run of a few batches on a worker, queued",
        description="Takes the same body as starting a job and gives the same 400s. The estimate is queued "
        "(202) and a training worker builds the model and times a few real training batches on the dataset "
        "(nothing is stored): the expected time per epoch (training batches only) and for the whole job as a "
        "range, from the epochs early stopping is likely to leave (your finished jobs on this dataset, else "
        "patience + 1) to the full budget of epochs; the peak memory at this batch size, split into the "
        "framework's runtime and the model's training, beside the validator's count of the model's tensors; "
        "with the parameter count and the weights' size. Poll `url` for the answer; an estimate "
        "nobody polls for LAYERLOOM_ESTIMATE_ABANDON_SECONDS is cancelled. One of your estimates runs at a "
        "time and at most LAYERLOOM_MAX_ESTIMATES may be queued or running: more answer 429 with Retry-After.",
        request=JobCreateSerializer,
        responses={202: EstimateStatusSerializer, 400: error("Invalid fields, the dataset not ready."),
                   404: error("No such dataset or architecture among yours."),
                   429: error("Too many of your estimates are queued or running; see Retry-After."),
                   **COMMON_ERRORS},
    )  # fmt: skip
    @action(detail=False, methods=["post"])
    def estimate(self, request: Request) -> Response:
        inputs = self._job_inputs(request)
        try:
            spec, hp = services.check_job(**inputs)
        except services.JobRejected as exc:
            raise rejected(exc) from None
        report = validate_spec(spec, limits=spec_limits(), batch_size=hp.batch_size)
        child_request = {"framework": inputs["framework"], "spec": spec, "dataset": inputs["dataset"].pk,
                         "hyperparameters": hp.model_dump()}  # fmt: skip
        sizes = {"total_params": report.total_params, "weights_bytes": report.total_params * 4,
                 "model_memory_bytes": report.memory_estimate_bytes,
                 **estimates.epoch_plan(request.user, inputs["dataset"], hp)}  # fmt: skip
        try:
            made = estimates.submit(request.user, child_request, sizes)
        except estimates.TooManyEstimates as exc:
            raise SignInLocked(str(exc), exc.retry_after) from None
        return Response(self._estimate_dict(made), status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Poll an estimate: queued, running, done (with the answer), failed or cancelled (with why)",
        parameters=[OpenApiParameter("estimate_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: EstimateStatusSerializer, 404: error("No such estimate among yours."), **COMMON_ERRORS},
    )
    @action(detail=False, methods=["get"], url_path=r"estimates/(?P<estimate_id>[0-9]+)", url_name="estimate-detail")
    def estimate_detail(self, request: Request, estimate_id: str | None = None) -> Response:
        made = Estimate.objects.filter(pk=int(estimate_id or 0), owner=request.user).first()
        if made is None:
            raise exceptions.NotFound("No such estimate among yours.")
        estimates.polled(made)
        return Response(self._estimate_dict(made))

    def _estimate_dict(self, made: Estimate) -> dict[str, Any]:
        url = reverse("api:job-estimate-detail", kwargs={"estimate_id": made.pk})
        ahead = Estimate.objects.filter(owner_id=made.owner_id, status__in=Estimate.ACTIVE, pk__lt=made.pk).count()
        answer = estimates.answer(made) if made.status == Estimate.Status.DONE and made.answer else None
        payload = {"id": made.pk, "url": self.request.build_absolute_uri(url), "status": made.status,
                   "answer": answer, "error": made.error, "queued_ahead": ahead if made.status == "queued" else 0,
                   "created": made.created, "started_at": made.started_at, "finished_at": made.finished_at}  # fmt: skip
        return EstimateStatusSerializer(payload).data

    def perform_destroy(self, instance: TrainingJob) -> None:
        try:
            deletion.delete_job(instance)
        except services.JobStateError as exc:
            raise Conflict(str(exc)) from None

    @extend_schema(
        summary="Poll a job's progress and new metrics",
        description="Pass the last epoch (or step) you have seen as since_epoch (since_step) to get only newer rows.",
        parameters=[MetricsQuerySerializer],
        responses={200: MetricsSerializer, 400: error("Bad query."), **NOT_FOUND, **COMMON_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def metrics(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = job.metrics.all()
        if "since_epoch" in query.validated_data:
            rows = rows.filter(epoch__gt=query.validated_data["since_epoch"])
        if "since_step" in query.validated_data:
            rows = rows.filter(step__gt=query.validated_data["since_step"])
        results = [
            {"epoch": m.epoch, "step": m.step, "values": m.values, "created": m.created}
            for m in rows.order_by("epoch", "step")[:MAX_METRICS_PER_POLL]
        ]
        payload = {"status": job.status, "epoch": job.epoch, "total_epochs": job.total_epochs,
                   "percent": job.percent, "eta_seconds": job.eta_seconds, "results": results}  # fmt: skip
        return Response(MetricsSerializer(payload).data)

    @extend_schema(
        summary="List the test examples of one confusion-matrix cell",
        description="A finished classification job's test examples whose true class is `true` and predicted "
        "class is `pred` (indices into the evaluation's class_names), most confident first: images as PNG data "
        "URLs of the pixels the model saw, tables and texts as the upload's rows. `available` is false, with a "
        "reason, when the job has no per-example predictions (not finished, regression, or older).",
        parameters=[ExamplesQuerySerializer],
        responses={200: ExamplesSerializer, 400: error("Bad query."), **NOT_FOUND, **COMMON_ERRORS},
    )  # fmt: skip
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def examples(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        query = ExamplesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        try:
            answer = cell_examples(job, q["true"], q["pred"], q["limit"])
        except NoExamples as exc:
            answer = {"available": False, "reason": str(exc), "count": 0, "examples": []}
        return Response(ExamplesSerializer(answer).data)

    @extend_schema(
        summary="Cancel a job",
        description="A queued job is cancelled at once; a running one stops within about a second.",
        request=None,
        responses={200: JobSerializer, 409: error("The job has already finished."), **NOT_FOUND, **COMMON_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        try:
            job = services.cancel_job(job)
        except services.JobStateError as exc:
            raise Conflict(str(exc)) from None
        return Response(JobSerializer(job).data)

    @extend_schema(
        summary="Retry a failed or cancelled job as a new job",
        request=None,
        responses={201: JobSerializer, 400: error("Quota reached or the dataset changed."),
                   409: error("Only failed or cancelled jobs can be retried."), **NOT_FOUND, **COMMON_ERRORS},
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        try:
            new = services.retry_job(job)
        except services.JobStateError as exc:
            raise Conflict(str(exc)) from None
        except services.JobRejected as exc:
            raise rejected(exc) from None
        return Response(JobSerializer(new).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="List a job's artifacts (models, code, reports) with size and sha256",
        responses={200: ArtifactSerializer(many=True), **NOT_FOUND, **COMMON_ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def artifacts(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        return Response(ArtifactSerializer([self._artifact_dict(a) for a in job.artifacts.all()], many=True).data)

    @extend_schema(
        summary="Download one artifact",
        parameters=[OpenApiParameter("artifact_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
            **NOT_FOUND,
            **COMMON_ERRORS,
        },
    )
    @action(
        detail=True, methods=["get"], url_path=r"artifacts/(?P<artifact_id>[0-9]+)", url_name="artifact-download",
        content_negotiation_class=AnyAccept,
    )  # fmt: skip
    def download(self, request: Request, pk: str | None = None, artifact_id: str | None = None) -> HttpResponse:
        job = self.get_object()
        artifact = Artifact.objects.filter(job=job, pk=artifact_id).first()
        if artifact is None:
            raise exceptions.NotFound("No such artifact for this job.")
        try:
            return artifact_response(artifact)
        except MissingFile:
            raise exceptions.NotFound("The artifact's file is missing.") from None

    @predict_schema("Predict with a job's model", "No such job among yours.")
    # Only the per-user rate: a prediction is not a job submission.
    @action(detail=True, methods=["post"], parser_classes=PARSERS, throttle_classes=[UserThrottle])
    def predict(self, request: Request, pk: str | None = None) -> Response:
        job = request_cache.owned_row(request, "job", str(pk), self.get_object, servable)
        self.check_object_permissions(request, job)
        return predict_response(
            request, lambda data, files: predict(job, data, files), lambda: get_kind(job.dataset.kind)
        )

    def _artifact_dict(self, artifact: Artifact) -> dict[str, Any]:
        url = reverse("api:job-artifact-download", kwargs={"pk": artifact.job_id, "artifact_id": artifact.pk})
        return {"id": artifact.pk, "kind": artifact.kind, "filename": artifact.filename,
                "size_bytes": artifact.size_bytes, "sha256": artifact.sha256, "created": artifact.created,
                "download_url": self.request.build_absolute_uri(url)}  # fmt: skip
