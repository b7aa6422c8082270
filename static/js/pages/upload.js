// The upload form: columns offered from the file's own header (papaparse reads the first
// rows in the browser), then the file streams to POST /api/datasets/ with XMLHttpRequest so
// the page can show percent and speed and cancel the upload.
//
// A kind whose options have [data-read-option] controls (tables) first asks the server how the
// file will be read: POST /api/datasets/inspect/ with a CSV's first 64 KiB (all that detection
// reads) or a whole Parquet or Excel file. papaparse then reads the CSV with that separator and
// encoding, so the column menus and the dataset agree; Parquet and Excel columns come from the answer.
import { ApiError, csrfToken, request } from "./api.js";
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

const DETECT_BYTES = 64 * 1024;
const INSPECT_MAX_BYTES = 16 * 1024 * 1024;
let inspection = 0; // the latest inspection's number: an older answer arriving late is dropped

const kindBox = () => [...form.querySelectorAll("[data-kind-options]")].find((b) => b.dataset.kindOptions === kind());

function parseHeader(file, config, trim) {
  window.Papa.parse(file, {
    preview: 1,
    skipEmptyLines: true,
    ...config,
    complete: (result) => {
      const names = (result.data[0] || []).map((c) => String(c));
      fillColumns(trim ? names.map((c) => c.trim()).filter(Boolean) : names.filter((c) => c.trim()));
    },
    error: () => fillColumns([]),
  });
}

function readHeader() {
  const file = fileInput.files[0];
  if (!file || !("readsHeader" in chosen().dataset)) return;
  const box = kindBox();
  if (box && box.querySelector("[data-read-option]")) inspect(file, box);
  else parseHeader(file, {}, true);
}

function readOptions(box) {
  const out = {};
  for (const control of box.querySelectorAll("[data-read-option]")) if (control.value) out[control.name] = control.value;
  return out;
}

// "Detect from the file" says what was detected; the sheet menu lists the workbook's sheets.
function showReading(box, answer) {
  const detected = new Set(answer.detected || []);
  const said = { delimiter: answer.delimiter_name, file_encoding: answer.encoding_name, decimal: answer.decimal_name };
  for (const [name, text] of Object.entries(said)) {
    const first = box.querySelector(`select[name=${name}] option[value=""]`);
    if (first) first.textContent = text && detected.has(name === "file_encoding" ? "encoding" : name) ? `Detect from the file: ${text}` : "Detect from the file";
  }
  const sheetField = box.querySelector("[data-sheet-field]");
  const sheet = box.querySelector("select[name=sheet]");
  sheetField.hidden = answer.format !== "xlsx";
  if (answer.format === "xlsx") {
    const chosenSheet = sheet.value;
    sheet.replaceChildren(new Option(`The first sheet (${answer.sheets[0]})`, ""));
    for (const name of answer.sheets) sheet.append(new Option(name, name));
    sheet.value = answer.sheets.includes(chosenSheet) ? chosenSheet : "";
  }
  for (const control of box.querySelectorAll("[data-field=delimiter], [data-field=file_encoding], [data-field=decimal]")) {
    control.hidden = answer.format !== "csv";
  }
  const line = box.querySelector("#read-as");
  if (answer.format === "csv") {
    line.textContent = `Read as CSV: separator ${answer.delimiter_name}, encoding ${answer.encoding_name}, decimal ${answer.decimal_name}.`;
  } else {
    line.textContent = answer.format === "parquet" ? "Read as a Parquet file." : `Read as an Excel workbook, sheet ${answer.sheet}.`;
  }
  line.dataset.format = answer.format;
}

async function inspect(file, box) {
  const number = ++inspection;
  const line = box.querySelector("#read-as");
  const magic = new Uint8Array(await file.slice(0, 4).arrayBuffer());
  const binary = String.fromCharCode(...magic) === "PAR1" || (magic[0] === 0x50 && magic[1] === 0x4b);
  if (binary && file.size > INSPECT_MAX_BYTES) {
    line.textContent = "The columns of a Parquet or Excel file this large are read when it is uploaded.";
    fillColumns([]);
    return;
  }
  const data = new FormData();
  data.append("file", binary ? file : file.slice(0, DETECT_BYTES), "head");
  data.append("options", JSON.stringify(readOptions(box)));
  let answer;
  try {
    answer = await request("POST", "/api/datasets/inspect/", data);
  } catch (error) {
    if (number !== inspection) return;
    const errors = error instanceof ApiError && error.body.errors;
    line.textContent = errors ? errors.map((e) => e.message).join(" ") : "The file could not be inspected.";
    fillColumns([]);
    return;
  }
  if (number !== inspection) return;
  showReading(box, answer);
  if (answer.format === "csv") parseHeader(file, { encoding: answer.browser_encoding, delimiter: answer.delimiter }, false);
  else fillColumns(answer.columns);
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
  const box = kindBox();
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
  if (event.target.matches("[data-read-option]")) readHeader(); // a chosen separator, encoding or sheet: read again
});
form.addEventListener("submit", upload);
cancelButton.addEventListener("click", () => xhr && xhr.abort());
showKind();
