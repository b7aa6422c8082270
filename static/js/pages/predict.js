// The predict page: reads the form, posts it to the job's predict endpoint (the one scripts
// call), and shows the answer as a chart and a table. Every server string is set as text.

import { postJSON } from "./api.js";

const root = document.getElementById("predict");
const form = document.getElementById("predict-form");
const state = document.getElementById("predict-state");
const formErrors = document.getElementById("form-errors");
// What the dataset's kind declares: the widget ("table", "text" or "file") and the request
// fields for one input and for a list ("row"/"rows", "text"/"texts", "image"/"images").
const widget = root.dataset.widget;
const one = root.dataset.one;
const many = root.dataset.many;
const url = root.dataset.url;
let chart = null;

function columnInputs() {
  return [...form.querySelectorAll("[data-column]")];
}

// The one input of a text or file widget; the file widget's preview (an <img>, an <audio>).
const single = form.querySelector("[data-predict-input]");
const fileInput = widget === "file" ? single : null;
const preview = form.querySelector("[data-preview]");
let previewUrl = null;

function showPreview(src) {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = null;
  preview.hidden = !src;
  if (src) preview.src = src;
}

// The body of the request: JSON for a row or a text, multipart for a file, the example
// file as base64 JSON. Returns null (with the reason on the field) when the browser
// already knows the input is unusable.
function tableRow() {
  return Object.fromEntries(columnInputs().map((i) => [i.dataset.column, i.value]));
}

function requestBody() {
  if (widget === "table") {
    const row = {};
    let bad = false;
    for (const input of columnInputs()) {
      if (input.validity && input.validity.badInput) {
        showFieldErrors(input, ["Enter a number, or leave it empty for a missing value."]);
        bad = true;
      }
      row[input.dataset.column] = input.value;
    }
    return bad ? null : { [one]: row };
  }
  if (widget === "text") return { [one]: single.value };
  const file = fileInput.files[0];
  if (file) {
    const body = new FormData();
    body.append(one, file);
    return body;
  }
  if (fileInput.dataset.example) return { [one]: fileInput.dataset.example };
  showFieldErrors(fileInput, [fileInput.dataset.missing || "Choose a file."]);
  return null;
}

// --- errors on their fields ------------------------------------------------------------

function errorList(input) {
  return document.getElementById(`${input.id}-errors`);
}

function showFieldErrors(input, messages) {
  const list = errorList(input);
  for (const message of messages) {
    const item = document.createElement("li");
    item.textContent = message;
    list.append(item);
  }
  input.setAttribute("aria-invalid", "true");
  input.closest(".field").classList.add("has-error");
}

function clearErrors() {
  for (const list of form.querySelectorAll(".field-errors")) list.replaceChildren();
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const field of form.querySelectorAll(".has-error")) field.classList.remove("has-error");
  formErrors.replaceChildren();
  formErrors.hidden = true;
}

function quoted(name) {
  // How the server's messages quote a column name (Python's repr of a plain string).
  return [`'${name}'`, `"${name}"`];
}

// The control a server error names: "row.colour" is that column; a row-level message
// that starts "column 'colour': ..." is that column too; "text" and "images.0" are the
// one input of a text or file widget.
function inputFor(field, message) {
  if (widget !== "table") {
    return field === one || field === many || field.startsWith(`${many}.`) ? single : null;
  }
  for (const input of columnInputs()) {
    const column = input.dataset.column;
    if (field === `${one}.${column}`) return input;
    if (field === one && quoted(column).some((q) => message.startsWith(`column ${q}:`))) return input;
  }
  return null;
}

function showErrors(status, body) {
  const errors = Array.isArray(body.errors) && body.errors.length ? body.errors : [{ field: null, message: body.message }];
  const general = [];
  for (const error of errors) {
    const message = String(error.message || "The server refused the input.");
    let input = error.field ? inputFor(String(error.field), message) : null;
    // A body over the size limit is, on this page, the file that was chosen.
    if (!input && status === 413 && fileInput) input = fileInput;
    if (input) showFieldErrors(input, [message]);
    else general.push(message);
  }
  if (general.length) {
    for (const message of general) {
      const line = document.createElement("p");
      line.textContent = message;
      formErrors.append(line);
    }
    formErrors.hidden = false;
  }
  const first = form.querySelector("[aria-invalid=true]");
  if (first) first.focus();
}

// --- the answer ------------------------------------------------------------------------

function percent(p) {
  return `${(100 * p).toFixed(2)} %`;
}

function formatValue(v) {
  return Number(v).toLocaleString("en-US", { maximumSignificantDigits: 6 });
}

function drawChart(names, values, best) {
  const canvas = document.getElementById("probabilities-chart");
  document.getElementById("chart-box").hidden = false;
  // Tall enough for a readable bar per class.
  document.getElementById("chart-box").style.height = `${Math.max(120, 34 * names.length + 50)}px`;
  if (chart) chart.destroy();
  chart = new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: names,
      datasets: [{
        label: "Probability (%)",
        data: values.map((p) => 100 * p),
        backgroundColor: names.map((_, i) => (i === best ? "#3b5bdb" : "#a5b4fc")),
      }],
    },
    options: {
      indexAxis: "y",
      animation: false,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { x: { min: 0, max: 100, title: { display: true, text: "probability (%)" } } },
    },
  });
}

function showClassification(answer, prediction) {
  const names = answer.class_names;
  const values = names.map((n) => prediction.probabilities[n]);
  const line = document.getElementById("answer-line");
  line.replaceChildren();
  const label = document.createElement("strong");
  label.className = "predicted";
  label.textContent = prediction.label;
  line.append("Predicted class: ", label, ` (${percent(prediction.probability)})`);
  drawChart(names, values, prediction.class_index);
  const table = document.getElementById("probabilities");
  const rows = names.map((name, i) => {
    const row = document.createElement("tr");
    if (i === prediction.class_index) row.className = "best";
    const cell = document.createElement("td");
    cell.textContent = name;
    const number = document.createElement("td");
    number.className = "number";
    number.textContent = percent(values[i]);
    row.append(cell, number);
    return row;
  });
  table.querySelector("tbody").replaceChildren(...rows);
  table.hidden = false;
}

function showRegression(prediction) {
  document.getElementById("chart-box").hidden = true;
  document.getElementById("probabilities").hidden = true;
  const line = document.getElementById("answer-line");
  line.replaceChildren();
  const value = document.createElement("strong");
  value.className = "predicted";
  const values = "value" in prediction ? [prediction.value] : prediction.values;
  value.textContent = values.map(formatValue).join(", ");
  const target = root.dataset.target;
  line.append(target ? `Predicted ${target}: ` : "Predicted value: ", value);
}

function showAnswer(answer) {
  const prediction = answer.predictions[0];
  if (answer.task === "regression") showRegression(prediction);
  else showClassification(answer, prediction);
  const warnings = document.getElementById("warnings");
  const notes = answer.warnings || [];
  warnings.replaceChildren(...notes.map((w) => {
    const item = document.createElement("li");
    item.textContent = `Warning: ${w.message}`;
    return item;
  }));
  warnings.hidden = !notes.length;
  const model = answer.model;
  const framework = model.framework === "torch" ? "PyTorch" : "Keras";
  document.getElementById("model-line").textContent =
    `Answered by job ${model.job} (${framework}), model.onnx sha256 ${String(model.sha256).slice(0, 12)}…`;
  document.getElementById("answer-empty").hidden = true;
  document.getElementById("answer").hidden = false;
}

// --- the curl command --------------------------------------------------------------------

function shellQuote(text) {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

function updateCurl() {
  const lines = [`curl -s -X POST ${url} \\`, `     -H "Authorization: Token $TOKEN" \\`];
  if (fileInput) {
    const file = fileInput.files[0];
    lines.push(`     -F ${one}=@${shellQuote(file ? file.name : fileInput.dataset.sampleName || "file")}`);
  } else {
    const body = { [one]: widget === "text" ? single.value : tableRow() };
    lines.push(`     -H 'Content-Type: application/json' \\`, `     -d ${shellQuote(JSON.stringify(body))}`);
  }
  document.getElementById("curl").textContent = lines.join("\n");
}

// --- wiring ------------------------------------------------------------------------------

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const body = requestBody();
  if (body === null) {
    state.textContent = "Not predicted: check the marked field.";
    return;
  }
  const button = document.getElementById("predict-button");
  button.disabled = true;
  state.textContent = "Predicting…";
  let answer;
  try {
    answer = await postJSON(url, body);
  } catch (err) {
    button.disabled = false;
    state.textContent = err.status ? `Not predicted (HTTP ${err.status}).` : "Not predicted.";
    showErrors(err.status, err.body);
    return;
  }
  button.disabled = false;
  state.textContent = "Done.";
  showAnswer(answer);
});

form.addEventListener("input", updateCurl);
form.addEventListener("change", updateCurl);

if (fileInput && preview) {
  if (fileInput.dataset.example) showPreview(fileInput.dataset.example);
  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    if (file) {
      showPreview(URL.createObjectURL(file));
      previewUrl = preview.src;
    } else {
      showPreview(fileInput.dataset.example || "");
    }
  });
}

document.getElementById("copy-curl").addEventListener("click", async () => {
  const copyState = document.getElementById("copy-state");
  try {
    await navigator.clipboard.writeText(document.getElementById("curl").textContent);
    copyState.textContent = "Copied.";
  } catch (err) {
    copyState.textContent = "Select the command and copy it.";
  }
});

updateCurl();
