"""Request and response bodies. Response-only serializers document dicts for the schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers

from api.schema_fields import (
    ClassNamesField,
    EvaluationField,
    OptionsField,
    ProfileField,
    ShapeField,
    SpecField,
    StrictCharField,
)
from api.waiting import MAX_WAIT_SECONDS
from builder.codegen.frameworks import CHOICES as FRAMEWORK_CHOICES
from builder.codegen.frameworks import DEFAULT as DEFAULT_FRAMEWORK
from builder.datasets.kinds import all_kinds, kind_choices
from builder.limits import spec_limits
from builder.models import Architecture, Dataset
from builder.spec import validate_spec
from workers.hyperparameters import Hyperparameters
from workers.models import TrainingJob

# --- errors (documentation only) --------------------------------------------------------


class ErrorEntrySerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="The request field at fault; null when none is.")
    code = serializers.CharField()
    message = serializers.CharField()
    layer_id = serializers.CharField(required=False, allow_null=True, help_text="Spec errors: the layer at fault.")
    param = serializers.CharField(required=False, allow_null=True, help_text="Spec errors: the parameter at fault.")
    path = serializers.CharField(required=False, allow_blank=True, help_text="Spec errors: JSON path in the spec.")


class ErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField(help_text="Every error in one line, for people.")
    errors = ErrorEntrySerializer(many=True)


# --- auth -------------------------------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    username = serializers.CharField()


# --- architectures ----------------------------------------------------------------------


class ArchitectureSerializer(serializers.ModelSerializer):
    """An architecture: ``spec`` is validated completely, every problem reported at once."""

    name = StrictCharField(max_length=120, required=False, help_text="Defaults to the spec's own name.")
    spec = SpecField(help_text="The architecture spec, format 1 (docs/architecture-format.md).")
    dataset = serializers.IntegerField(
        source="dataset_id", required=False, allow_null=True,
        help_text="One of your datasets: the one it was built for, which the builder and the train form "
        "offer when it is reopened (null: none). Another user's dataset answers 404.",
    )  # fmt: skip

    class Meta:
        model = Architecture
        fields = ["id", "name", "spec", "dataset", "created", "updated"]
        read_only_fields = ["id", "created", "updated"]

    # Filled by validate_spec so the view can report spec errors with layer ids.
    spec_errors: list[dict[str, Any]]

    def validate_spec(self, value: Any) -> Any:
        report = validate_spec(value, limits=spec_limits())
        self.spec_errors = [e.to_dict() for e in report.errors]
        if not report.ok:
            raise serializers.ValidationError([e.message for e in report.errors])
        return value

    def validate_dataset(self, value: int | None) -> int | None:
        request = self.context.get("request")
        owner = getattr(request, "user", None)
        if value is not None and not Dataset.objects.filter(owner=owner, pk=value).exists():
            raise exceptions.NotFound("No such dataset among yours.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("name") and self.instance is None:
            spec = attrs.get("spec")
            attrs["name"] = str(spec.get("name") or "untitled")[:120] if isinstance(spec, dict) else "untitled"
        return attrs


class ValidateRequestSerializer(serializers.Serializer):
    spec = SpecField(help_text="The spec to check; nothing is stored.")
    batch_size = serializers.IntegerField(min_value=1, max_value=65536, default=32)
    dataset = serializers.IntegerField(
        required=False,
        help_text="One of your datasets: also check that the input shape and the output layer fit it "
        "(errors with code dataset_mismatch on input.shape or the last layer's units/activation).",
    )


class CodegenRequestSerializer(serializers.Serializer):
    spec = SpecField(help_text="The spec to generate code for; nothing is stored.")
    framework = serializers.ChoiceField(choices=FRAMEWORK_CHOICES, default=DEFAULT_FRAMEWORK)


class PresetCreateSerializer(serializers.Serializer):
    """Create an architecture from a preset fitted to one of your datasets."""

    preset = serializers.CharField(help_text="A preset key from GET /api/presets/ (e.g. mlp, small_cnn).")
    dataset = serializers.IntegerField(help_text="One of your ready datasets: its shapes fit the preset.")
    name = serializers.CharField(max_length=120, required=False, help_text="Defaults to the preset and dataset names.")


class PresetQuerySerializer(serializers.Serializer):
    dataset = serializers.IntegerField(
        required=False, help_text="One of your ready datasets: only the presets that suit it, fitted to it."
    )


class BatchSizeSerializer(serializers.Serializer):
    batch_size = serializers.IntegerField(min_value=1, max_value=65536, default=32)


class LayerReportSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    inputs = serializers.ListField(child=serializers.CharField())
    output_shape = serializers.ListField(child=serializers.IntegerField())
    trainable_params = serializers.IntegerField()
    non_trainable_params = serializers.IntegerField()
    torch_extra_params = serializers.IntegerField()


class SpecReportSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    errors = serializers.ListField(child=serializers.DictField(), help_text="Empty when ok.")
    name = serializers.CharField()
    input_shape = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    output_shape = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    layers = LayerReportSerializer(many=True)
    total_params = serializers.IntegerField()
    trainable_params = serializers.IntegerField()
    non_trainable_params = serializers.IntegerField()
    torch_extra_params = serializers.IntegerField(help_text="Extra parameters torch's layers carry (LSTM's 2nd bias).")
    batch_size = serializers.IntegerField()
    memory_estimate_bytes = serializers.IntegerField(help_text="Estimated training memory at this batch size.")
    notes = serializers.ListField(child=serializers.CharField())


class CodegenQuerySerializer(serializers.Serializer):
    framework = serializers.ChoiceField(choices=FRAMEWORK_CHOICES, default=DEFAULT_FRAMEWORK)


class CodegenSerializer(serializers.Serializer):
    framework = serializers.ChoiceField(choices=FRAMEWORK_CHOICES)
    filename = serializers.CharField()
    source = serializers.CharField(help_text="The generated model module: what the workers train.")


# --- layers and presets -----------------------------------------------------------------


class LayerTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    category = serializers.CharField()
    help = serializers.CharField()
    shape_rule = serializers.CharField()
    min_inputs = serializers.IntegerField()
    max_inputs = serializers.IntegerField(allow_null=True)
    json_schema = serializers.DictField(help_text="JSON Schema of the layer's params object.")


class PresetSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    spec = SpecField(read_only=True)


# --- datasets ---------------------------------------------------------------------------


class DatasetSerializer(serializers.ModelSerializer):
    options = OptionsField(read_only=True)
    profile = ProfileField(read_only=True)
    input_shape = ShapeField(read_only=True)
    class_names = ClassNamesField(read_only=True)

    class Meta:
        model = Dataset
        fields = [
            "id", "name", "kind", "status", "error", "original_filename", "sha256", "size_bytes", "options",
            "profile", "task", "input_shape", "num_classes", "class_names", "version", "created", "updated",
        ]  # fmt: skip
        read_only_fields = fields


BAD_WAIT = f"Give wait as a number of seconds from 0 to {MAX_WAIT_SECONDS}, for example wait=10."


class WaitQuerySerializer(serializers.Serializer):
    wait = serializers.FloatField(
        min_value=0, max_value=MAX_WAIT_SECONDS, default=0,
        error_messages={"invalid": BAD_WAIT, "min_value": BAD_WAIT, "max_value": BAD_WAIT},
        help_text=f"Seconds (0 to {MAX_WAIT_SECONDS}) to hold the answer while the object is still pending or "
        "processing: it comes as soon as that ends, or when the time is up. When the server already holds "
        "as many waiting requests as it allows, it answers at once.",
    )  # fmt: skip


class DatasetDeleteQuerySerializer(serializers.Serializer):
    with_jobs = serializers.BooleanField(
        default=False, help_text="Also delete the jobs trained on this dataset (none may be queued or running)."
    )


class DatasetUploadSerializer(serializers.Serializer):
    """multipart/form-data: the file streams to disk while its sha256 is computed."""

    file = serializers.FileField(help_text=" ".join(f"{k.name}: {k.description}" for k in all_kinds()))
    name = serializers.CharField(max_length=120, required=False, help_text="Defaults to the file name.")
    kind = serializers.ChoiceField(choices=kind_choices())
    options = OptionsField(
        required=False, help_text='Ingestion options as a JSON object, e.g. {"target_column": "species"}.'
    )


class DemoDatasetSerializer(serializers.Serializer):
    """A demo dataset made from data a package ships; nothing is downloaded."""

    demo = serializers.ChoiceField(choices=[], help_text="Which demo: see GET /api/datasets/demo/.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from builder.demo import DEMOS

        super().__init__(*args, **kwargs)
        self.fields["demo"].choices = [(key, demo.name) for key, demo in DEMOS.items()]


class DemoInfoSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    description = serializers.CharField()


# --- jobs -------------------------------------------------------------------------------


def _hyperparameters_schema() -> dict[str, Any]:
    """The job hyperparameters' JSON Schema from their pydantic model, in OpenAPI 3.0 terms."""
    schema = Hyperparameters.model_json_schema()
    for prop in schema.get("properties", {}).values():
        variants = prop.pop("anyOf", None)
        if variants:  # Optional[X]: OpenAPI 3.0 spells "or null" as nullable
            prop.update(next(v for v in variants if v.get("type") != "null"))
            prop["nullable"] = True
        prop.pop("title", None)
        for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if isinstance(prop.get(bound), int | float) and not isinstance(prop.get(bound), bool):
                prop[plain], prop[bound] = prop[bound], True  # OpenAPI 3.0's boolean form
    return {"type": "object", "properties": schema.get("properties", {}), "additionalProperties": False}


@extend_schema_field(_hyperparameters_schema())
class HyperparametersField(serializers.JSONField):
    pass


class JobCreateSerializer(serializers.Serializer):
    architecture = serializers.IntegerField(
        required=False, allow_null=True, help_text="One of your architectures; or give `spec` instead."
    )
    spec = SpecField(required=False, allow_null=True, help_text="An inline spec instead of an architecture.")
    dataset = serializers.IntegerField(help_text="One of your datasets, ingested (status ready).")
    framework = serializers.ChoiceField(choices=FRAMEWORK_CHOICES)
    hyperparameters = HyperparametersField(required=False, help_text="Omitted fields take their defaults.")


class JobSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    hyperparameters = HyperparametersField(read_only=True)
    spec = SpecField(read_only=True, help_text="The spec frozen at submission.")
    evaluation = EvaluationField(read_only=True)

    class Meta:
        model = TrainingJob
        fields = [
            "id", "architecture", "dataset", "dataset_version", "framework", "hyperparameters", "spec", "status",
            "cancel_requested", "queue", "epoch", "total_epochs", "batch", "batches_per_epoch", "percent",
            "eta_seconds", "resumed_from_epoch", "worker_host", "device_name", "attempts", "heartbeat_at", "created",
            "started_at", "finished_at", "duration_seconds", "error", "interruption", "evaluation", "retry_of",
        ]  # fmt: skip
        read_only_fields = fields


class EstimateSerializer(serializers.Serializer):
    """A dry run's measurements: a few real training batches on a worker, nothing stored."""

    framework = serializers.CharField()
    device = serializers.CharField(help_text="Where the batches ran, e.g. CPU or GPU: <name>.")
    batch_size = serializers.IntegerField()
    batches_measured = serializers.IntegerField(help_text="Timed batches, after one warm-up batch.")
    seconds_per_batch = serializers.FloatField()
    batches_per_epoch = serializers.IntegerField()
    seconds_per_epoch = serializers.FloatField(help_text="Training batches only; validation is not counted.")
    first_step_seconds = serializers.FloatField(help_text="The warm-up batch (tracing, first use).")
    peak_memory_bytes = serializers.IntegerField(help_text="Peak device memory on a GPU; on a CPU, the growth of "
                                                 "the process's peak resident size from before the framework was "
                                                 "imported: runtime_memory_bytes + training_memory_bytes.")  # fmt: skip
    memory_measured_on = serializers.ChoiceField(choices=["gpu", "cpu"])
    runtime_memory_bytes = serializers.IntegerField(
        allow_null=True, help_text="CPU: what importing the framework and setting the device up took, paid once "
        "per job whatever the model (most of the gap to model_memory_bytes). Null on a GPU.",
    )  # fmt: skip
    training_memory_bytes = serializers.IntegerField(
        allow_null=True, help_text="What building and training the model took at this batch size: weights, "
        "gradients, optimizer state and activations as the framework holds them, with its workspaces and caches.",
    )  # fmt: skip
    data_memory_bytes = serializers.IntegerField(
        allow_null=True, help_text="The training and validation splits as a job holds them in memory (not in the "
        "dry run's peak).",
    )  # fmt: skip
    model_memory_bytes = serializers.IntegerField(
        allow_null=True, help_text="The validator's count at this batch size (what the memory limit is checked "
        "against): float32 weights, gradients and two Adam moments, and one batch's activations and their "
        "gradients; no framework runtime, workspaces or data.",
    )  # fmt: skip
    total_params = serializers.IntegerField()
    weights_bytes = serializers.IntegerField(help_text="Size of the float32 weights.")
    epochs_budget = serializers.IntegerField(help_text="The epochs asked for: the most the job trains.")
    patience = serializers.IntegerField(allow_null=True, help_text="Early stopping's patience (null: off).")
    epochs_early_stop = serializers.IntegerField(
        help_text="The epochs early stopping is likely to leave: see epochs_early_stop_basis."
    )
    epochs_early_stop_basis = serializers.ChoiceField(
        choices=["history", "patience", "budget"],
        help_text="history: the median of your last finished jobs on this dataset with early stopping "
        "(history_jobs of them); patience: none yet, so the fewest epochs early stopping allows (patience + 1), a "
        "lower bound; budget: early stopping is off, every epoch runs.",
    )  # fmt: skip
    history_jobs = serializers.IntegerField(help_text="How many finished jobs epochs_early_stop was read from.")
    seconds_early_stop = serializers.FloatField(
        help_text="seconds_per_epoch x epochs_early_stop: the whole job's training time if early stopping ends it "
        "there (the likely end of the range)."
    )
    seconds_budget = serializers.FloatField(help_text="seconds_per_epoch x epochs_budget: every epoch run.")


class EstimateStatusSerializer(serializers.Serializer):
    """An estimate asked for with POST /api/jobs/estimate/: poll `url` until it is done, failed or cancelled."""

    id = serializers.IntegerField()
    url = serializers.CharField(help_text="Where to poll it (GET). Poll at least every "
                                "LAYERLOOM_ESTIMATE_ABANDON_SECONDS, or it is cancelled.")  # fmt: skip
    status = serializers.ChoiceField(choices=["queued", "running", "done", "failed", "cancelled"])
    answer = EstimateSerializer(allow_null=True, help_text="The measurements, once done.")
    error = serializers.CharField(allow_blank=True, help_text="Why it failed or was cancelled.")
    queued_ahead = serializers.IntegerField(help_text="Your own estimates that run before this one.")
    created = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class ExamplesQuerySerializer(serializers.Serializer):
    true = serializers.IntegerField(min_value=0, help_text="Index of the true class (a row of the matrix).")
    pred = serializers.IntegerField(min_value=0, help_text="Index of the predicted class (a column).")
    limit = serializers.IntegerField(min_value=1, max_value=50, default=50)


class ExampleSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position in the test split.")
    id = serializers.IntegerField(help_text="Row of the upload (0 = first data row) or zip member index.")
    confidence = serializers.FloatField(help_text="The probability the model gave its predicted class.")
    image = serializers.CharField(required=False, help_text="Images: a PNG data URL of the pixels the model saw.")
    row = serializers.DictField(required=False, allow_null=True, help_text="Tables and texts: the upload's row.")


class ExamplesSerializer(serializers.Serializer):
    available = serializers.BooleanField(help_text="False, with a reason, when the job has no examples to list.")
    reason = serializers.CharField(allow_blank=True)
    true = serializers.CharField(required=False)
    predicted = serializers.CharField(required=False)
    kind = serializers.CharField(required=False)
    unit = serializers.CharField(required=False, help_text='What one example is called: "row", "file".')
    count = serializers.IntegerField(help_text="Test examples in this cell (examples lists at most `limit`).")
    examples = ExampleSerializer(many=True)


class MetricSerializer(serializers.Serializer):
    epoch = serializers.IntegerField()
    step = serializers.IntegerField()
    values = serializers.DictField(help_text="Metric name to value, e.g. loss, accuracy, val_loss, val_accuracy.")
    created = serializers.DateTimeField()


class MetricsQuerySerializer(serializers.Serializer):
    since_epoch = serializers.IntegerField(min_value=0, required=False, help_text="Only epochs after this one.")
    since_step = serializers.IntegerField(min_value=0, required=False, help_text="Only steps after this one.")


class MetricsSerializer(serializers.Serializer):
    """A poll: the job's progress and the metrics written since the client's last poll."""

    status = serializers.CharField()
    epoch = serializers.IntegerField()
    total_epochs = serializers.IntegerField()
    percent = serializers.FloatField()
    eta_seconds = serializers.FloatField(allow_null=True)
    results = MetricSerializer(many=True)


class ArtifactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    filename = serializers.CharField()
    size_bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    created = serializers.DateTimeField()
    download_url = serializers.CharField(help_text="GET it with the same credentials.")


# --- predictions and named model endpoints --------------------------------------------


class PredictRequestSerializer(serializers.Serializer):
    """Documentation only: serving.inputs reads the body and names each bad field itself."""

    rows = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="Tables: rows as objects, column name -> value, as in the uploaded CSV.",
    )
    row = serializers.DictField(required=False, help_text="Tables: one row.")
    texts = serializers.ListField(child=serializers.CharField(), required=False, help_text="Text models: texts.")
    text = serializers.CharField(required=False, help_text="Text models: one text.")
    images = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Image models: image files in base64 (or files in a multipart body).",
    )
    image = serializers.CharField(required=False, help_text="Image models: one image file in base64.")  # fmt: skip


class PredictModelSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    framework = serializers.CharField()
    artifact = serializers.IntegerField(help_text="The ONNX artifact that answered.")
    sha256 = serializers.CharField(help_text="Its sha256, as listed with the job's artifacts.")
    endpoint = serializers.CharField(allow_null=True, help_text="The name called, for a named endpoint.")


class PredictionSerializer(serializers.Serializer):
    label = serializers.CharField(required=False, help_text="Classification: the most probable class.")
    class_index = serializers.IntegerField(required=False)
    probability = serializers.FloatField(required=False, help_text="Classification: the label's probability.")
    probabilities = serializers.DictField(
        child=serializers.FloatField(), required=False, help_text="Classification: every class's probability, by name."
    )
    value = serializers.FloatField(required=False, help_text="Regression: the value, in the target's units.")


class WarningSerializer(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()


class PredictResponseSerializer(serializers.Serializer):
    model = PredictModelSerializer()
    task = serializers.ChoiceField(["classification", "regression"])
    class_names = serializers.ListField(child=serializers.CharField(), required=False)
    predictions = PredictionSerializer(many=True, help_text="One per input, in order.")
    warnings = WarningSerializer(
        many=True, required=False, help_text="Inputs answered all the same, each named: a table cell with a category "
        "training never saw (encoded as unknown), or a number beyond its column's training range by more than the "
        "range's width (the message gives the range). Left out when there are none.",
    )  # fmt: skip


class EndpointCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64, help_text="1-64 of a-z 0-9 . _ - ; yours only.")
    job = serializers.IntegerField(help_text="A job of yours that succeeded.")

    def validate_name(self, value: str) -> str:
        from serving.models import name_validator

        name_validator(value)
        return value


class EndpointHistorySerializer(serializers.Serializer):
    job = serializers.IntegerField(source="job_number")
    job_deleted = serializers.SerializerMethodField(help_text="The job has since been deleted (with its files).")
    since = serializers.DateTimeField()
    until = serializers.DateTimeField(allow_null=True, help_text="Empty while the job still serves.")

    def get_job_deleted(self, row: Any) -> bool:
        return row.job_id is None


class EndpointSerializer(serializers.Serializer):
    name = serializers.CharField()
    job = serializers.IntegerField(source="job_id", help_text="The job serving under the name now.")
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()
    history = EndpointHistorySerializer(many=True, source="history.all", help_text="Oldest first.")


class UsageSerializer(serializers.Serializer):
    used_bytes = serializers.IntegerField(help_text="Bytes your datasets and jobs hold on disk.")
    quota_bytes = serializers.IntegerField(allow_null=True, help_text="Your storage quota; null when unlimited.")
    datasets_bytes = serializers.IntegerField(help_text="Uploads and materialised arrays.")
    jobs_bytes = serializers.IntegerField(help_text="Checkpoints, logs and artifacts of your jobs.")
    active_jobs = serializers.IntegerField(help_text="Your queued and running jobs.")
    active_jobs_limit = serializers.IntegerField(help_text="How many may be queued or running at once.")
    estimates = serializers.IntegerField(help_text="Your queued and running estimates (dry runs).")
    estimates_limit = serializers.IntegerField(help_text="How many may be queued or running at once.")
    endpoints = serializers.IntegerField(help_text="Your named model endpoints.")
    endpoints_limit = serializers.IntegerField(help_text="How many names you may have.")
