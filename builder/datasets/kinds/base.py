"""The dataset-kind contract: everything Layerloom knows about one kind of data, in one class.

A kind (tabular, images, text, ...) is a subclass of :class:`DatasetKind` registered in
``builder.datasets.kinds`` (``register``). Everything else asks the registry for the kind
by its name and uses what it declares or returns; no code outside a kind's own module(s)
compares a kind's name. Pages and scripts get the kind's declared properties (its upload
options partial, accepted files, predict widget, sample partial) through their context or
JSON, so templates and JavaScript never branch on a name either.

This module imports no Django: the web process, the Celery worker that ingests and the
training child all use the kinds. A kind receives rows duck-typed (``Any``) and files as
resolved paths.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from builder.datasets.limits import Limits
from builder.datasets.result import IngestResult


@dataclass(frozen=True)
class PredictFields:
    """The request fields a predict body uses for this kind: ``rows`` / ``row`` / "row"."""

    many: str  # a list of inputs ("rows")
    one: str  # one input ("row")
    what: str  # what one input is called in messages ("row")


@dataclass
class Example:
    """One raw input read back from the stored upload, as the predict endpoint takes it."""

    value: Any  # a CSV row (column -> text), a text, a file's bytes: whatever the kind's records are
    label: str  # the answer the data gives for it ("" when unknown)


class InputProblems(Exception):
    """Bad predict inputs: {field: [messages]}, in the order found (the API answers 400 with them)."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()))
        self.problems = problems


@dataclass(frozen=True)
class SampleMedia:
    """A file the dataset page may show (a thumbnail, a clip): where it is and its media type."""

    path: Path
    content_type: str


@dataclass
class PresetFacts:
    """What fitting a preset needs from a ready dataset."""

    input_shape: list[int]
    task: str  # "classification" | "regression"
    n_outputs: int  # classes (1 for regression)
    profile: dict[str, Any] = field(default_factory=dict)


def whole_number(value: Any) -> bool:
    """An int that is not a bool (JSON's true would pass isinstance(value, int))."""
    return isinstance(value, int) and not isinstance(value, bool)


def bundle_source(name: str) -> str:
    """The text of a file in kinds/bundle/ (a kind's kindio.py: shipped in the code bundle, never imported)."""
    return (Path(__file__).resolve().parent / "bundle" / name).read_text(encoding="utf-8")


def input_name(field_name: str, index: int, single: bool) -> str:
    """How a message names one predict input: ``row`` when sent alone, ``rows.3`` in a list."""
    return field_name if single else f"{field_name}.{index}"


class DatasetKind(ABC):
    """One kind of dataset. Subclass, fill the class attributes, implement the abstract methods,
    and register an instance with ``builder.datasets.kinds.register``.

    Methods with a body are defaults a kind may override.
    """

    # --- identity ----------------------------------------------------------------------
    name: ClassVar[str]  # stored in Dataset.kind and preprocessing.json's "kind"; the API's value
    label: ClassVar[str]  # the choice's label ("Table (CSV)")
    description: ClassVar[str]  # one sentence: what the upload is (the upload page's help line)

    # --- upload --------------------------------------------------------------------------
    # The file input's accept attribute, e.g. (".csv", "text/csv").
    upload_accept: ClassVar[tuple[str, ...]]
    # Our own name for the stored upload (never the uploader's), e.g. "upload.csv".
    source_name: ClassVar[str]
    # Kind-specific options and their defaults (split and seed are common to every kind).
    option_defaults: ClassVar[Mapping[str, Any]] = {}
    # Template partial with the kind's option fields on the upload page (each control has
    # data-option and the option's name); None when the kind has none to show.
    options_template: ClassVar[str | None] = None
    # True when the upload page should read the CSV's header in the browser to offer its
    # columns in the partial's <select data-column-select> controls.
    reads_csv_header: ClassVar[bool] = False

    def check_options(self, options: dict[str, Any]) -> dict[str, str]:
        """Check the kind's own options in place (defaults already filled, values may be
        normalised, e.g. a tuple to a list); return {field: message} for each bad one."""
        return {}

    @abstractmethod
    def check_upload(self, path: Path, options: dict[str, Any], limits: Limits) -> None:
        """The checks quick enough to answer within the upload request (the file's format,
        that named columns exist). Raises builder.datasets.errors.OptionsError({field: message})."""

    # --- ingestion -----------------------------------------------------------------------
    @abstractmethod
    def ingest(self, source: Path, options: dict[str, Any], out_dir: Path, limits: Limits) -> IngestResult:
        """Materialise the upload into out_dir (a private folder, renamed into place by the
        caller): the split arrays (builder.datasets.arrays.SplitWriters), preprocessing.json
        (its "kind" is this kind's name) and anything the kind's pages read back (thumbnails,
        samples.json). Raises builder.datasets.errors.DatasetError with a message for a person."""

    # --- the preprocessing document ------------------------------------------------------
    @abstractmethod
    def transform(self, doc: Mapping[str, Any], records: Sequence[Any]) -> np.ndarray:
        """Raw records (as parse_inputs returns them and read_example gives them) -> the model's
        input batch, exactly as ingestion made the training arrays. Raises
        builder.datasets.preprocessing.InputError naming the bad value."""

    # --- presets -------------------------------------------------------------------------
    # What one sample is called in a fitted preset's description ("images", "features").
    preset_noun: ClassVar[str] = "samples"

    def preset_options(self, profile: Mapping[str, Any]) -> dict[str, Any]:
        """Extra keyword arguments for builder.spec.presets.fit_preset from the dataset's
        profile (text: the vocabulary size its Embedding reads)."""
        return {}

    def fit_presets(self, facts: PresetFacts) -> dict[str, dict[str, Any]]:
        """Name -> fitted spec for every preset that suits this data."""
        from builder.spec.presets import fitting_presets

        return fitting_presets(**self._preset_arguments(facts))

    def fit_preset(self, name: str, facts: PresetFacts) -> dict[str, Any]:
        """The preset ``name`` fitted to this data; builder.spec.presets.PresetError when it does not suit."""
        from builder.spec.presets import fit_preset

        return fit_preset(name, **self._preset_arguments(facts))

    def _preset_arguments(self, facts: PresetFacts) -> dict[str, Any]:
        return {
            "input_shape": list(facts.input_shape),
            "task": facts.task,
            "n_outputs": facts.n_outputs,
            "noun": self.preset_noun,
            **self.preset_options(facts.profile),
        }

    # --- the dataset page ----------------------------------------------------------------
    samples_label: ClassVar[str] = "Rows"  # what the page's count is of ("Images")
    # Template partial showing the samples (included with the context page_context returns).
    sample_template: ClassVar[str | None] = None

    def sample_count(self, profile: Mapping[str, Any]) -> int | None:
        """How many samples the profile counts (the page's "Rows"/"Images" figure)."""
        return profile.get("rows")

    def page_context(self, dataset: Any, source: Path | None) -> dict[str, Any]:
        """Extra context for the dataset page's sample partial. ``dataset`` is the ready (or
        not) Dataset row; ``source`` the stored upload's path (None when gone)."""
        return {}

    def sample_media(self, version_dir: Path, name: str) -> SampleMedia | None:
        """A file ingestion wrote for the dataset page, by the name the page asked for
        (served at /datasets/<id>/thumbs/<name> to the owner only). Return None for any name
        the kind did not write itself; the name comes from the request."""
        return None

    # --- test examples (job page, predict page) ------------------------------------------
    example_unit: ClassVar[str] = "row"  # how the job page names one example ("row 12", "file 3")

    @abstractmethod
    def read_example(self, doc: Mapping[str, Any], source: Path, version_dir: Path, index: int) -> Example | None:
        """The input with this id (arrays' ids) read back from the stored upload, as the
        predict endpoint takes it; None when it cannot be shown."""

    @abstractmethod
    def describe_examples(
        self, examples: list[dict[str, Any]], source: Path | None, test_inputs: Callable[[], Any]
    ) -> None:
        """Add what the job page shows to each example of a confusion-matrix cell, in place:
        "row" ({column: text}) read from ``source`` by example["id"], or "image" (a data URL)
        drawn from the test split's arrays (``test_inputs()`` gives X; example["index"] is the row)."""

    # Whether one materialised sample is a picture (height, width, 1 or 3 channels) that the
    # job's evaluation can draw as a thumbnail of its worst-misclassified inputs.
    input_is_image: ClassVar[bool] = False

    # --- the evaluation's baselines ---------------------------------------------------------
    # What the job's linear baseline reads, as its label says it ("logistic regression on
    # <this>"); workers/training/baselines.py standardises numbers and fits the model.
    baseline_inputs_label: ClassVar[str] = "the standardised inputs"

    def baseline_inputs(self, X: np.ndarray) -> np.ndarray | list[str]:
        """One split's materialised inputs as the linear baseline reads them: a 2-D array of
        numbers (default: each sample flattened), or one document per sample (TF-IDF)."""
        return np.asarray(X, dtype=np.float32).reshape(len(X), -1)

    # --- prediction ------------------------------------------------------------------------
    predict_fields: ClassVar[PredictFields]
    # One sentence for the API's predict documentation: the fields and what each input is.
    predict_doc: ClassVar[str]
    # True when inputs may come as files of a multipart body (under predict_fields' names).
    accepts_files: ClassVar[bool] = False
    # The predict page: the input card's heading, its partial, and the widget its script drives:
    # "table" (one control per column, data-column), "text" (#text-input) or "file" (#file-input).
    predict_title: ClassVar[str]
    predict_template: ClassVar[str]
    predict_widget: ClassVar[str]

    @abstractmethod
    def parse_inputs(self, model: Any, field_name: str, values: list[Any], single: bool) -> list[Any]:
        """The request's values -> the records transform takes. ``model`` is the serving
        LoadedModel (.doc, .columns). Raises InputProblems naming each bad input
        (input_name(field_name, index, single))."""

    def input_notes(
        self, doc: Mapping[str, Any], records: Sequence[Any], name: Callable[[int], str]
    ) -> list[dict[str, str]]:
        """Notes (not errors) on inputs that were used, e.g. a category training never saw:
        [{"field", "message"}]; ``name(index)`` names input ``index``."""
        return []

    def training_ranges(self, doc: Mapping[str, Any], version_dir: Path) -> dict[str, Any]:
        """What input_warnings compares inputs with, read once from the dataset version's
        materialised training split when a model is loaded to serve predictions (serving keeps
        it with the model); {} when the kind compares nothing (the default)."""
        return {}

    def input_warnings(
        self, ranges: Mapping[str, Any], records: Sequence[Any], name: Callable[[int], str]
    ) -> list[dict[str, str]]:
        """Warnings on inputs that are answered all the same but lie far outside what training
        saw (``ranges``, from training_ranges): [{"field", "message"}]; none by default."""
        return []

    def predict_context(self, doc: Mapping[str, Any], example: Example | None) -> dict[str, Any]:
        """Context for predict_template, filled with the example; must set "has_example"."""
        return {"has_example": example is not None}

    # --- the code bundle -----------------------------------------------------------------
    # README commands: (predict, train), e.g. ("python predict.py rows.csv", "python train.py data.csv").
    bundle_commands: ClassVar[tuple[str, str]]
    # Distributions kindio.py needs beyond numpy and Pillow (requirements.txt pins the installed
    # version), e.g. ("soundfile", "scipy").
    bundle_requirements: ClassVar[tuple[str, ...]] = ()
    # Modules the kind's bundle files import beyond what the bundle's scripts may (the guard's
    # SCRIPT_POLICY: numpy, the standard library they use, preprocessing, csvsafe), e.g.
    # frozenset({"soundfile", "scipy.signal", "audio_features"}); a test runs every kind's
    # bundle files through the guard with these added.
    bundle_imports: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def bundle_modules(self) -> dict[str, str]:
        """File name -> source the bundle ships for this kind. Must include "kindio.py", a
        module importing only numpy, Pillow, the standard library and the bundle's own modules
        (preprocessing, csvsafe, and any other file returned here), defining:

        - ``read_inputs(doc, path) -> (ids, records)``: predict.py's inputs from one path;
        - ``read_labelled(doc, path) -> (records, targets, target_name)``: train.py's data laid
          out like the upload (targets as it gives them: class names, or numbers as text;
          target_name names them in messages);
        - ``transform(doc, records) -> numpy array``: the model's input batch (as transform).
        """

    # --- helpers for the pages -----------------------------------------------------------
    def public(self) -> dict[str, Any]:
        """What pages and scripts may know about the kind (JSON-safe)."""
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "accept": ",".join(self.upload_accept),
            "reads_csv_header": self.reads_csv_header,
            "options_template": self.options_template,
            "option_defaults": dict(self.option_defaults),
        }
