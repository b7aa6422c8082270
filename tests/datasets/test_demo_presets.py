"""Every preset that suits a demo dataset, fitted to it after a real ingestion, validates and fits."""

from __future__ import annotations

import pytest

from builder.datasets.check import check_against_dataset
from builder.datasets.ingest import run_ingest
from builder.demo import create_demo_dataset
from builder.fitting import fitted_presets
from builder.models import Dataset
from builder.spec import validate_spec
from builder.spec.presets import PresetError

EXPECTED = {
    "iris": {"mlp"},
    "digits": {"mlp", "small_cnn", "lenet5", "residual_cnn"},
    "reviews": {"text_lstm", "text_fasttext", "text_transformer"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_each_fitted_preset_validates_against_the_demo(alice, data_root, enqueued, key):
    dataset = create_demo_dataset(alice, key)
    with pytest.raises(PresetError, match="not ready"):
        fitted_presets(dataset)
    assert run_ingest(dataset.pk) == "ready"
    dataset = Dataset.objects.get(pk=dataset.pk)
    fitted = fitted_presets(dataset)
    assert set(fitted) == EXPECTED[key]
    for name, spec in fitted.items():
        report = validate_spec(spec)
        assert report.ok and not report.errors, (name, [str(e) for e in report.errors])
        assert check_against_dataset(spec, dataset) == [], name
    if key == "reviews":
        vocabulary = dataset.profile["tokens"]["vocabulary_size"]
        assert fitted["text_lstm"]["layers"][0]["params"]["input_dim"] == vocabulary
