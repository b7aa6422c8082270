"""A prediction's memory is bounded by what its batch puts through the model, and returned.

Reproduces the report: a 335 KB model (a 4,096-filter convolution over 16x16 digits) and a
62 KB request of 600 small PNGs grew the web process from 255 MB to 8.7 GB, and it stayed
there (ONNX Runtime kept its arena). Here a real web process (Django's server, its own
process) serves the requests; its resident memory is read from /proc.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import onnx
import pytest
import requests
from onnx import TensorProto, helper, numpy_helper
from rest_framework.authtoken.models import Token

from serving.sessions import resident_bytes
from tests.serving.helpers import b64, png, serving_job
from tests.spec.test_report import WIDE_CONV
from tests.support.web_process import web_process as start_web_process

pytestmark = pytest.mark.django_db(transaction=True)

DOC: dict[str, Any] = {
    "format": 1, "kind": "images", "task": "classification", "class_names": [str(d) for d in range(10)],
    "image": {"size": [16, 16], "mode": "grayscale"}, "input_shape": [16, 16, 1],
}  # fmt: skip
MiB = 1024**2


def wide_conv_onnx() -> bytes:
    """WIDE_CONV as ONNX: NHWC input, Conv(4096, 3x3, same) + ReLU, global average pool, Dense(10) + softmax."""
    rng = np.random.default_rng(0)
    kernel = rng.normal(scale=0.1, size=(4096, 1, 3, 3)).astype(np.float32)
    dense = rng.normal(scale=0.1, size=(4096, 10)).astype(np.float32)
    nodes = [
        helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "K", "kb"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "D", "db"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["output"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "wide",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 16, 16, 1])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 10])],
        initializer=[numpy_helper.from_array(kernel, "K"), numpy_helper.from_array(np.zeros(4096, np.float32), "kb"),
                     numpy_helper.from_array(dense, "D"), numpy_helper.from_array(np.zeros(10, np.float32), "db")],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model.SerializeToString()


@pytest.fixture
def web_process() -> Any:
    with start_web_process("web-memory", "--nothreading") as web:
        yield web.proc, web.url


def test_a_large_batch_is_refused_and_the_memory_of_one_that_fits_is_returned(alice: Any, web_process: Any) -> None:
    proc, url = web_process
    job = serving_job(alice, DOC, WIDE_CONV, wide_conv_onnx())
    headers = {"Authorization": f"Token {Token.objects.create(user=alice).key}"}
    image = b64(png((16, 16), "L"))

    def send(count: int) -> requests.Response:
        return requests.post(f"{url}/api/jobs/{job.pk}/predict/", json={"images": [image] * count}, headers=headers,
                             timeout=120)  # fmt: skip

    assert send(1).status_code == 200  # the model is loaded now
    start = resident_bytes(proc.pid)
    assert start > 0

    refused = send(600)
    assert refused.status_code == 400
    (error,) = refused.json()["errors"]
    assert error["field"] == "images"
    assert "600 images need an estimated 2.4 GiB to run through this model (4.0 MiB each)" in error["message"]
    assert "send at most 63 images per request" in error["message"]
    assert resident_bytes(proc.pid) < start + 100 * MiB  # refused before anything was decoded or run

    for _ in range(5):  # the largest batch that fits, again and again: each returns what it took
        answer = send(63)
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["predictions"]) == 63
    time.sleep(0.5)
    assert resident_bytes(proc.pid) < start + 100 * MiB, (resident_bytes(proc.pid) - start) / MiB
