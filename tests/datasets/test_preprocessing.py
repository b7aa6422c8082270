"""The one transform: the same numbers at ingestion and at prediction, from raw inputs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from builder.datasets import preprocessing
from builder.datasets.kinds import transform_records
from builder.datasets.preprocessing import InputError
from tests.datasets.factories import png_bytes

TABLE_DOC = {
    "format": 1,
    "kind": "tabular",
    "features": [
        {"name": "x", "type": "numeric", "mean": 2.0, "std": 4.0, "impute": 2.0},
        {"name": "c", "type": "categorical", "categories": ["red", "blue"], "encoding": "onehot", "impute": "red"},
    ],
}


def test_table_rows_are_standardised_and_one_hot_encoded():
    X = transform_records(TABLE_DOC, [{"x": "6", "c": "blue"}, {"x": "", "c": "green"}, {"c": "NA"}])
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X, [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def test_json_cells_encode_exactly_as_text_cells():
    """Rows of JSON numbers and strings take the vectorised paths; CSV-like text and None the
    cell-by-cell ones: the same rows give the same batch either way."""
    from_json = [{"x": 6, "c": "blue"}, {"x": 2.5, "c": "NA"}, {"x": None, "c": "mauve"}]
    as_text = [{"x": "6", "c": "blue"}, {"x": "2.5", "c": None}, {"x": "", "c": "mauve"}]
    expected = [[1.0, 0.0, 1.0], [0.125, 1.0, 0.0], [0.0, 0.0, 0.0]]
    np.testing.assert_array_equal(transform_records(TABLE_DOC, from_json), expected)
    np.testing.assert_array_equal(transform_records(TABLE_DOC, as_text), expected)
    with pytest.raises(InputError, match="expected a number"):  # true is not taken for 1
        transform_records(TABLE_DOC, [{"x": True, "c": "red"}])


def test_index_encoding_reserves_zero_for_unseen_categories():
    doc = {**TABLE_DOC, "features": [{**TABLE_DOC["features"][1], "encoding": "index"}]}
    np.testing.assert_array_equal(transform_records(doc, [{"c": "blue"}, {"c": "mauve"}]), [[2.0], [0.0]])


@pytest.mark.parametrize("value, words", [("abc", "is not a number"), ("inf", "infinity")])
def test_bad_numbers_are_named(value, words):
    with pytest.raises(InputError, match=words):
        transform_records(TABLE_DOC, [{"x": value, "c": "red"}])


def test_text_is_tokenised_truncated_and_padded():
    doc = {
        "format": 1,
        "kind": "text",
        "text": {"vocabulary": ["<pad>", "<oov>", "good", "film"], "sequence_length": 4},
    }
    X = transform_records(doc, ["Good FILM, very good film!", "ｇｏｏｄ"])
    np.testing.assert_array_equal(X, [[2, 3, 1, 2], [2, 0, 0, 0]])  # full-width letters normalised (NFKC)
    assert X.dtype == np.int32


def test_images_are_decoded_by_content_resized_and_scaled():
    doc = {"format": 1, "kind": "images", "image": {"size": [4, 6], "mode": "grayscale"}}
    X = transform_records(doc, [png_bytes((30, 20), (255, 255, 255)), png_bytes((5, 5), 0, mode="L", fmt="BMP")])
    assert X.shape == (2, 4, 6, 1) and X.dtype == np.float32
    assert X[0].min() == 1.0 and X[1].max() == 0.0


def test_transparent_pixels_become_white():
    doc = {"format": 1, "kind": "images", "image": {"size": [2, 2], "mode": "rgb"}}
    X = transform_records(doc, [png_bytes((3, 3), (0, 0, 0, 0), mode="RGBA")])
    assert X.min() == 1.0


def test_non_images_and_bombs_are_refused():
    doc = {"format": 1, "kind": "images", "image": {"size": [2, 2], "mode": "rgb", "max_pixels": 100}}
    with pytest.raises(InputError, match="not a JPEG"):
        transform_records(doc, [b"<html><script>alert(1)</script></html>"])
    with pytest.raises(preprocessing.ImageTooLarge):
        transform_records(doc, [png_bytes((20, 20))])


def test_pillow_decompression_bomb_warning_is_an_error(monkeypatch):
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)  # 400 pixels: Pillow only warns
    with pytest.raises(preprocessing.ImageTooLarge):
        preprocessing.open_image(png_bytes((20, 20)), max_pixels=10_000)


def test_regression_targets_scale_and_unscale_with_the_documented_numbers():
    doc = {"target_scaling": {"mean": 150.0, "std": 75.0}}
    y = np.array([75.0, 150.0, 300.0])
    scaled = preprocessing.scale_target(doc, y)
    assert scaled.dtype == np.float32 and scaled.tolist() == [-1.0, 0.0, 2.0]
    assert np.array_equal(preprocessing.unscale_target(doc, scaled), y)  # raw output * std + mean
    assert np.array_equal(preprocessing.unscale_target({}, y), y)  # no key: already in target units
    assert preprocessing.fit_target_scaling(np.array([2.0, 4.0])) == {"mean": 3.0, "std": 1.0}
    assert preprocessing.fit_target_scaling(np.array([5.0, 5.0]))["std"] == 1.0


def test_unknown_format_version_is_refused():
    with pytest.raises(InputError, match="format"):
        transform_records({**TABLE_DOC, "format": 2}, [{"x": "1"}])


def test_module_imports_with_only_numpy_pillow_and_stdlib():
    code = (
        "import sys; sys.modules['django'] = None; sys.modules['pyarrow'] = None\n"
        "import importlib.util as u\n"
        f"s = u.spec_from_file_location('p', {preprocessing.__file__!r}); m = u.module_from_spec(s)\n"
        "s.loader.exec_module(m); print(sorted(k for k in sys.modules if k.split('.')[0] in ('django', 'pyarrow', 'builder') and sys.modules[k]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
