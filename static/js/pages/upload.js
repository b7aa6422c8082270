// The upload form: columns offered from the file's own header (papaparse reads the first
// rows in the browser), then the file streams to POST /api/datasets/ with XMLHttpRequest so
// the page can show percent and speed and cancel the upload.
import { csrfToken } from "./api.js";
import { clearErrors, showErrors } from "./forms.js";
import { size } from "./format.js";

const form = document.getElementById("upload-form");
const fileInput = document.getElementById("id_file");
const bar = document.getElementById("upload-bar");
const statusLine = document.getElementById("upload-status");
const progressBox = document.getElementById("upload-progress");
const submitButton = document.getElementById("upload-submit");
const cancelButton = document.getElementById("upload-cancel");
let xhr = null;

// The chosen kind's radio button: it carries what the kind declares (data-accept, and
// data-reads-header when the page should read a CSV header to offer its columns).
const chosen = () => form.querySelector("input[name=kind]:checked");
const kind = () => chosen().value;

function showKind() {
  const current = kind();
  for (const box of form.querySelectorAll("[data-kind-options]")) box.hidden = box.dataset.kindOptions !== current;
  for (const help of form.querySelectorAll("[data-help-kind]")) help.hidden = help.dataset.helpKind !== current;
  fileInput.accept = chosen().dataset.accept;
  readHeader();
}

function fillColumns(columns) {
  for (const select of form.querySelectorAll("[data-column-select]")) {
    const previous = select.value;
    select.replaceChildren();
    if (select.dataset.firstChoice) select.append(new Option(select.dataset.firstChoice, ""));
    for (const name of columns) select.append(new Option(name, name)); // Option() sets text, never HTML
    const prefer = select.dataset.prefer;
    if (columns.includes(previous)) select.value = previous;
    else if (prefer && columns.includes(prefer)) select.value = prefer;
  }
}

function readHeader() {
  const file = fileInput.files[0];
  if (!file || !("readsHeader" in chosen().dataset)) return;
  window.Papa.parse(file, {
    preview: 1,
    skipEmptyLines: true,
    complete: (result) => fillColumns((result.data[0] || []).map((c) => String(c).trim()).filter(Boolean)),
    error: () => fillColumns([]),
  });
}

function showResponseErrors(body, status) {
  const entries = (body && body.errors) || [{ field: null, message: `The upload failed (HTTP ${status}).` }];
  showErrors(form, entries, (name) => name.replace(/^options\.?/, ""));
}

function options() {
  const out = {};
  const value = (name) => form.elements[name].value.trim();
  // The chosen kind's own options: every [data-option] control in its box that has a value
  // (a number input sends a number).
  const box = [...form.querySelectorAll("[data-kind-options]")].find((b) => b.dataset.kindOptions === kind());
  for (const control of box ? box.querySelectorAll("[data-option]") : []) {
    const text = control.value.trim();
    if (!text) continue;
    out[control.name] = control.type === "number" && Number.isFinite(Number(text)) ? Number(text) : text;
  }
  if (value("split")) {
    const parts = value("split").split(/[\s,;]+/).filter(Boolean).map(Number);
    out.split = parts.every(Number.isFinite) ? parts : value("split");
  }
  if (value("seed")) out.seed = Number.isInteger(Number(value("seed"))) ? Number(value("seed")) : value("seed");
  return out;
}

function busy(on) {
  submitButton.disabled = on;
  cancelButton.hidden = !on;
  progressBox.hidden = false;
}

function upload(event) {
  event.preventDefault();
  clearErrors(form);
  const file = fileInput.files[0];
  if (!file) {
    showErrors(form, [{ field: "file", message: "Choose a file to upload." }]);
    return;
  }
  const data = new FormData();
  data.append("file", file);
  data.append("kind", kind());
  if (form.elements.name.value.trim()) data.append("name", form.elements.name.value.trim());
  data.append("options", JSON.stringify(options()));

  const started = performance.now();
  xhr = new XMLHttpRequest();
  xhr.open("POST", form.action);
  xhr.setRequestHeader("X-CSRFToken", csrfToken());
  xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.addEventListener("progress", (e) => {
    if (!e.lengthComputable) return;
    const percent = (100 * e.loaded) / e.total;
    const seconds = (performance.now() - started) / 1000;
    bar.value = percent;
    const speed = seconds > 0 ? ` at ${size(e.loaded / seconds)}/s` : "";
    statusLine.textContent = `Uploading ${Math.floor(percent)}% (${size(e.loaded)} of ${size(e.total)})${speed}`;
  });
  xhr.addEventListener("load", () => {
    const body = (() => { try { return JSON.parse(xhr.responseText); } catch { return null; } })();
    if (xhr.status === 200 || xhr.status === 201) {
      bar.value = 100;
      statusLine.textContent = xhr.status === 200 ? "You uploaded this file before: opening it." : "Uploaded. Opening the dataset…";
      window.location.assign(`/datasets/${body.id}/`);
      return;
    }
    busy(false);
    cancelButton.hidden = true;
    statusLine.textContent = "The upload was refused; see the messages above.";
    showResponseErrors(body, xhr.status);
  });
  xhr.addEventListener("error", () => {
    busy(false);
    cancelButton.hidden = true;
    statusLine.textContent = "The connection failed before the upload finished.";
  });
  xhr.addEventListener("abort", () => {
    busy(false);
    cancelButton.hidden = true;
    bar.value = 0;
    statusLine.textContent = "Upload cancelled.";
  });
  busy(true);
  statusLine.textContent = "Uploading 0%";
  xhr.send(data);
}

form.addEventListener("change", (event) => {
  if (event.target.name === "kind") showKind();
  if (event.target === fileInput) readHeader();
});
form.addEventListener("submit", upload);
cancelButton.addEventListener("click", () => xhr && xhr.abort());
showKind();
