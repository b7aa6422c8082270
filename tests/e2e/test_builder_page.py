"""The builder in a real browser: presets fitted to a demo dataset, live shapes and errors,
the palette, reordering, a residual block, the diagram, the code, saving and drafts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from builder.datasets.ingest import run_ingest
from builder.demo import create_demo_dataset
from builder.models import Architecture, Dataset
from tests.e2e.checks import row, settle, wait_valid
from tests.e2e.conftest import audit, shot

# A browser page looks and behaves the same whichever database and broker serve it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.one_backend]


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch, alice: Any) -> Any:
    """Alice's demo dataset of a kind, ingested in this process (what the worker would do)."""
    monkeypatch.setattr("builder.datasets.upload.enqueue_ingest", lambda dataset_id: None)

    def make(key: str) -> Dataset:
        dataset = create_demo_dataset(alice, key)
        assert run_ingest(dataset.pk) == "ready"
        return Dataset.objects.get(pk=dataset.pk)

    return make


def rows(page: Any) -> list[str]:
    return page.locator(".layer-row .layer-id").all_inner_texts()


def assert_accessible(page: Any) -> None:
    violations = audit(page)
    assert violations == [], "\n".join(violations)


def test_a_preset_fitted_to_iris_shows_shapes_errors_and_code(
    page: Any, sign_in: Any, alice: Any, demo: Any, browser_problems: Any
) -> None:
    browser_problems.allow(400, r"/api/architectures/validate/$")  # the validator's answer to a bad spec
    browser_problems.allow(400, r"/api/architectures/$")  # a save refused for the same reason
    iris = demo("iris")
    sign_in(alice)
    page.goto(f"/architectures/new/?dataset={iris.pk}")
    page.get_by_role("heading", name="Start from a preset fitted to your data").wait_for()
    page.locator(".preset-card").first.wait_for()
    assert page.locator(".preset-card h3").all_inner_texts() == ["mlp"]
    shot(page, "builder-start-iris")
    assert_accessible(page)
    page.get_by_role("button", name="Start from mlp").click()
    wait_valid(page)
    assert rows(page) == ["hidden1", "drop1", "hidden2", "out"]
    assert row(page, "out").locator(".shape").inner_text() == "(None, 3)"
    assert row(page, "hidden1").locator(".count").inner_text() == "320 params"  # 4*64 + 64
    assert page.locator("#total-params").inner_text() == "2,499"
    assert re.fullmatch(r"\d+(\.\d)? (KB|MB)", page.locator("#total-memory").inner_text())
    page.locator("#code-keras code").filter(has_text="keras").wait_for()
    page.get_by_role("tab", name="PyTorch").click()
    page.locator("#code-torch code").filter(has_text="nn.Module").wait_for()
    assert page.locator("#code-torch code .hljs-keyword").count() > 0  # highlighted
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "model_torch.py"
    torch_source = Path(download.value.path()).read_text()
    assert "class Mlp(nn.Module)" in torch_source and "nn.Linear(4, 64)" in torch_source
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("tab", name="Keras").click()
    page.get_by_role("button", name="Copy", exact=True).click()
    page.locator("#code-status").filter(has_text="Copied").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == page.locator("#code-keras code").text_content()
    page.get_by_role("button", name="Side by side").click()
    assert page.locator("#code-keras code").is_visible() and page.locator("#code-torch code").is_visible()
    keras_box, torch_box = page.locator("#code-keras").bounding_box(), page.locator("#code-torch").bounding_box()
    assert torch_box["x"] > keras_box["x"] and abs(torch_box["y"] - keras_box["y"]) < 1  # one row, two columns
    shot(page, "builder-iris-valid")
    assert_accessible(page)
    page.get_by_role("button", name="Side by side").click()
    assert not page.locator("#code-torch code").is_visible()

    # Units out of bounds: the message sits under that field of that layer, the row turns red.
    browser_status = page.locator("#validation-state")
    row(page, "hidden2").locator(".layer-toggle").click()
    units = row(page, "hidden2").get_by_label("Units")
    units.fill("0")
    page.wait_for_function("() => document.getElementById('validation-state').textContent.includes('problem')")
    field_errors = row(page, "hidden2").locator('.field[data-param="units"] .field-errors')
    assert "units" in field_errors.inner_text() and "greater than or equal to 1" in field_errors.inner_text()
    assert "has-error" in (row(page, "hidden2").get_attribute("class") or "")
    assert units.get_attribute("aria-invalid") == "true"
    assert page.locator("#total-params").inner_text()  # the totals still show
    assert row(page, "hidden1").locator(".shape").inner_text() == "(None, 64)"
    shot(page, "builder-iris-error")
    assert_accessible(page)
    # Saving now is refused with the server's message, and nothing is lost or half-made.
    page.get_by_role("button", name="Save").click()
    page.locator("#save-state").filter(has_text="Not saved: spec: Dense layer 'hidden2'").wait_for()
    assert not Architecture.objects.exists()
    assert units.input_value() == "0"
    units.fill("32")
    wait_valid(page)
    assert field_errors.inner_text() == ""
    assert "has-error" not in (row(page, "hidden2").get_attribute("class") or "")
    assert browser_status.inner_text() == "Valid"

    # A valid spec that does not fit the data: the output units are checked against iris's 3 classes.
    row(page, "out").locator(".layer-toggle").click()
    row(page, "out").get_by_label("Units").fill("4")
    out_errors = row(page, "out").locator('.field[data-param="units"] .field-errors')
    out_errors.filter(has_text="The last Dense has 4 units but the dataset has 3 classes. Set its units to 3.").wait_for()
    shot(page, "builder-iris-head-mismatch")
    row(page, "out").get_by_label("Units").fill("3")
    wait_valid(page)
    assert out_errors.inner_text() == ""
    settle(page)


def test_palette_keyboard_reorder_residual_block_diagram_and_save(
    page: Any, sign_in: Any, alice: Any, demo: Any, browser_problems: Any
) -> None:
    browser_problems.allow(400, r"/api/architectures/(validate|codegen)/$")
    digits = demo("digits")
    sign_in(alice)
    page.goto(f"/architectures/new/?dataset={digits.pk}&preset=small_cnn")
    wait_valid(page)
    assert rows(page) == ["conv1", "bn1", "pool1", "conv2", "pool2", "gap", "out"]
    assert row(page, "conv1").locator(".shape").inner_text() == "(None, 8, 8, 16)"
    assert row(page, "out").locator(".shape").inner_text() == "(None, 10)"

    # A kernel larger than what is left of the image: the error names conv2's kernel_size.
    row(page, "conv2").locator(".layer-toggle").click()
    kernel = row(page, "conv2").get_by_label("Kernel Size")
    kernel.fill("9")
    field_errors = row(page, "conv2").locator('.field[data-param="kernel_size"] .field-errors')
    field_errors.filter(has_text="kernel_size 9 is larger than the input").wait_for()
    kernel.fill("3")
    wait_valid(page)

    # Keyboard only: select conv1's row, add a Dropout from the palette with Enter; it lands below conv1.
    row(page, "conv1").locator(".layer-toggle").focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Add Dropout layer").focus()
    page.keyboard.press("Enter")
    wait_valid(page)
    assert rows(page) == ["conv1", "dropout1", "bn1", "pool1", "conv2", "pool2", "gap", "out"]
    assert page.evaluate("() => document.activeElement.dataset.uid") is not None  # the new row has focus
    # Alt+Down moves it, Delete removes it.
    page.keyboard.press("Alt+ArrowDown")
    wait_valid(page)
    assert rows(page)[:3] == ["conv1", "bn1", "dropout1"]
    page.keyboard.press("Delete")
    wait_valid(page)
    assert "dropout1" not in rows(page)
    # The buttons reorder too.
    row(page, "bn1").get_by_role("button", name="Move bn1 up").click()
    wait_valid(page)
    assert rows(page)[:2] == ["bn1", "conv1"]
    shot(page, "builder-digits-reordered")

    # A residual block: conv3 after conv2 (same shape), then an Add picking conv2 and conv3 as inputs.
    row(page, "conv2").locator(".layer-toggle").click()
    page.get_by_role("button", name="Add Conv2D layer").click()
    conv = row(page, "conv2d1")
    conv.get_by_label("Padding").select_option("same")
    conv.get_by_label("Filters").fill("32")
    wait_valid(page)
    page.get_by_role("button", name="Add Add layer").click()
    add = row(page, "add1")
    add.get_by_label("conv2", exact=True).check()
    add.get_by_label("conv2d1", exact=True).check()  # already picked by default: keep it
    wait_valid(page)
    assert rows(page)[3:6] == ["conv2", "conv2d1", "add1"]
    assert add.locator(".shape").inner_text() == "(None, 4, 4, 32)"
    # The diagram draws both edges into the Add, with the shapes on them.
    add_uid = add.get_attribute("data-uid")
    node = page.locator(f'#diagram .node[data-uid="{add_uid}"]')
    node.wait_for()
    labels = page.locator("#diagram .edge-label").all_text_contents()
    assert labels.count("4×4×32") >= 3  # conv2 -> conv2d1, conv2 -> add1, conv2d1 -> add1
    # Clicking a node selects its row.
    gap_uid = row(page, "gap").get_attribute("data-uid")
    page.locator(f'#diagram .node[data-uid="{gap_uid}"]').click()
    assert "selected" in (row(page, "gap").get_attribute("class") or "")
    assert "node-selected" in (page.locator(f'#diagram .node[data-uid="{gap_uid}"]').get_attribute("class") or "")
    shot(page, "builder-digits-residual")
    assert_accessible(page)

    # Save: the address becomes the architecture's, and a reload shows it as saved.
    page.get_by_label("Architecture name").fill("digits residual")
    page.get_by_role("button", name="Save").click()
    page.locator("#save-state").filter(has_text="Saved").wait_for()
    saved = Architecture.objects.get(owner=alice)
    assert saved.name == "digits residual"
    assert [layer["id"] for layer in saved.spec["layers"]][3:6] == ["conv2", "conv2d1", "add1"]
    assert page.url.endswith(f"/architectures/{saved.pk}/?dataset={digits.pk}")
    assert page.get_by_role("link", name="Train ▸").get_attribute("href") == (
        f"/jobs/new/?architecture={saved.pk}&dataset={digits.pk}"
    )
    settle(page)
    page.reload()
    wait_valid(page)
    assert rows(page)[3:6] == ["conv2", "conv2d1", "add1"]
    assert page.get_by_label("Architecture name").input_value() == "digits residual"
    assert page.locator("#draft-notice").is_hidden()

    # An edit not saved survives a reload as a draft, with a notice, until discarded.
    page.get_by_label("Architecture name").fill("digits residual v2")
    page.get_by_role("button", name="Remove add1").click()
    settle(page)
    page.reload()
    page.locator("#draft-notice").wait_for()
    assert page.get_by_label("Architecture name").input_value() == "digits residual v2"
    assert "add1" not in rows(page)
    shot(page, "builder-draft-restored")
    settle(page)
    page.get_by_role("button", name="Discard them").click()
    page.wait_for_load_state()
    row(page, "add1").wait_for()
    assert page.get_by_label("Architecture name").input_value() == "digits residual"

    # While there are unsaved edits, leaving the page asks first.
    page.get_by_label("Architecture name").fill("leaving")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    settle(page)
    with page.expect_event("dialog"):
        page.close(run_before_unload=True)
    assert dialogs == ["beforeunload"]


def test_a_text_preset_drag_and_drop_and_duplicate(
    page: Any, sign_in: Any, alice: Any, demo: Any, browser_problems: Any
) -> None:
    browser_problems.allow(400, r"/api/architectures/validate/$")
    reviews = demo("reviews")
    vocabulary = reviews.profile["tokens"]["vocabulary_size"]
    sign_in(alice)
    page.goto(f"/architectures/new/?dataset={reviews.pk}")
    page.locator(".preset-card").first.wait_for()
    assert page.locator(".preset-card h3").all_inner_texts() == ["text-lstm", "text-fasttext", "text-transformer"]
    page.get_by_role("button", name="Start from text-lstm").click()
    wait_valid(page)
    assert rows(page) == ["embed", "lstm", "drop", "out"]
    length = reviews.input_shape[0]
    assert row(page, "embed").locator(".shape").inner_text() == f"(None, {length}, 32)"
    row(page, "embed").locator(".layer-toggle").click()
    assert row(page, "embed").get_by_label("Input Dim").input_value() == str(vocabulary)
    assert row(page, "out").locator(".shape").inner_text() == "(None, 1)"  # two classes: one sigmoid unit

    # The key parameters are editable on the row itself.
    row(page, "lstm").get_by_label("units of lstm").fill("16")
    row(page, "lstm").get_by_label("units of lstm").press("Enter")
    expect(row(page, "lstm").locator(".shape")).to_have_text("(None, 16)")  # the new answer, however fast
    wait_valid(page)
    assert page.locator("#i-" + (row(page, "lstm").get_attribute("data-uid") or "") + "-units").evaluate(
        "(e) => e === document.activeElement"
    )

    # Drag the Dropout by its handle above the LSTM.
    page.locator(".layer-row", has_text="drop").locator(".drag-handle").drag_to(row(page, "lstm"))
    wait_valid(page)
    assert rows(page) == ["embed", "drop", "lstm", "out"]

    # Copy a layer below itself: a second LSTM cannot read the first one's last step only.
    row(page, "lstm").get_by_role("button", name="Copy lstm below").click()
    page.wait_for_function("() => document.getElementById('validation-state').textContent.includes('problem')")
    assert rows(page) == ["embed", "drop", "lstm", "lstm1", "out"]
    assert "has-error" in (row(page, "lstm1").get_attribute("class") or "")
    row(page, "lstm1").get_by_role("button", name="Remove lstm1").click()
    wait_valid(page)
    assert rows(page) == ["embed", "drop", "lstm", "out"]

    # Save, rename through the header, then duplicate: the copy is a new architecture with its own page.
    page.get_by_label("Architecture name").fill("reviews lstm")
    page.get_by_role("button", name="Save").click()
    page.locator("#save-state").filter(has_text="Saved").wait_for()
    original = Architecture.objects.get(owner=alice)
    page.get_by_label("Architecture name").fill("reviews lstm renamed")
    page.get_by_role("button", name="Save").click()
    page.locator("#save-state").filter(has_text="Saved").wait_for()
    original.refresh_from_db()
    assert original.name == "reviews lstm renamed"
    settle(page)
    page.get_by_role("button", name="Duplicate", exact=True).click()
    page.wait_for_url(re.compile(r"/architectures/\d+/"))
    page.wait_for_function(f"() => !location.pathname.endsWith('/{original.pk}/')")
    wait_valid(page)
    copy = Architecture.objects.exclude(pk=original.pk).get(owner=alice)
    assert copy.name == "reviews lstm renamed (copy)" and copy.spec == original.spec
    assert page.get_by_label("Architecture name").input_value() == copy.name
    assert [layer["id"] for layer in copy.spec["layers"]] == ["embed", "drop", "lstm", "out"]
    shot(page, "builder-reviews-copy")
    assert_accessible(page)
    settle(page)


def test_a_server_out_of_reach_is_said_and_the_next_save_works(
    page: Any, sign_in: Any, alice: Any, demo: Any, browser_problems: Any
) -> None:
    """Every page calls the API through one wrapper: a dropped connection is a message, not a hang."""
    iris = demo("iris")
    sign_in(alice)
    page.goto(f"/architectures/new/?dataset={iris.pk}")
    page.get_by_role("button", name="Start from mlp").click()
    wait_valid(page)
    page.locator("#arch-name").fill("iris-mlp")

    def refuse(route: Any) -> None:
        route.abort("connectionrefused") if route.request.method == "POST" else route.continue_()

    page.route(re.compile(r"/api/architectures/$"), refuse)
    page.get_by_role("button", name="Save").click()
    page.locator("#save-state").filter(has_text="Not saved: The server could not be reached").wait_for()
    assert not Architecture.objects.filter(owner=alice).exists()
    browser_problems.seen[:] = [p for p in browser_problems.seen if "ERR_CONNECTION_REFUSED" not in p]

    page.unroute(re.compile(r"/api/architectures/$"))
    page.get_by_role("button", name="Save").click()
    page.locator("#save-state").filter(has_text="Saved at").wait_for()
    assert list(Architecture.objects.filter(owner=alice).values_list("name", flat=True)) == ["iris-mlp"]
