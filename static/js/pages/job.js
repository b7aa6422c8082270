// One job's page: live curves and event log from GET /api/jobs/<id>/metrics/ (polled every
// two seconds while the job is queued or running), cancel, retry and delete through the API, the
// confusion matrix's shading and examples, the residual plot and highlighted code.
import { getJSON, postJSON } from "./api.js";
import { lineChart, lineSeries, scatterChart } from "./charts.js";
import { wireDelete } from "./delete.js";
import { duration, metric, statusWord } from "./format.js";

const live = document.getElementById("job-live");
const jobId = live.dataset.job;
const ACTIVE = new Set(["queued", "running"]);
const POLL_MS = 2000;
const charts = new Map(); // metric name -> Chart
const history = []; // [{epoch, values}]
let lastEpoch = -1;
let lastStatus = live.dataset.status;
let loggedStatus = null; // the status the event log last named: each change is logged once
let reloadTimer = null; // set once the job finishes: the page reloads to show the server-drawn results

// --- curves -------------------------------------------------------------------------------
export const isCurve = (key) => !/seconds|per_second|^lr$|learning_rate/.test(key) && !key.startsWith("val_");

function drawCharts() {
  const box = document.getElementById("charts");
  const keys = [...new Set(history.flatMap((row) => Object.keys(row.values)))].filter(isCurve);
  if (keys.length) document.getElementById("charts-empty")?.remove();
  for (const key of keys) {
    const series = [
      { label: `training ${key}`, data: history.filter((r) => Number.isFinite(r.values[key])).map((r) => [r.epoch, r.values[key]]) },
      { label: `validation ${key}`, dashed: true, data: history.filter((r) => Number.isFinite(r.values[`val_${key}`])).map((r) => [r.epoch, r.values[`val_${key}`]]) },
    ];
    if (!charts.has(key)) {
      const holder = document.createElement("div");
      holder.className = "chart-box";
      const canvas = document.createElement("canvas");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `${key} per epoch, training and validation; the numbers are in the event log`);
      canvas.dataset.metric = key;
      holder.append(canvas);
      box.append(holder);
      charts.set(key, lineChart(canvas, key, series));
    } else {
      const chart = charts.get(key);
      chart.data.datasets = series.map((s, i) => lineSeries(s, i));
      chart.update();
    }
  }
  box.dataset.epochs = String(history.length);
}

function log(text, when) {
  const item = document.createElement("li");
  const time = (when ? new Date(when) : new Date()).toLocaleTimeString();
  item.textContent = `${time}  ${text}`;
  document.getElementById("log").append(item);
}

function logEpoch(row, total) {
  const parts = Object.entries(row.values)
    .filter(([k]) => !/seconds|per_second/.test(k))
    .map(([k, v]) => `${k} ${metric(v)}`);
  const took = Number.isFinite(row.values.epoch_seconds) ? ` (${duration(row.values.epoch_seconds)})` : "";
  log(`epoch ${row.epoch}${total ? ` of ${total}` : ""}: ${parts.join(", ")}${took}`, row.created);
}

function logStatus(status) {
  if (status === loggedStatus) return;
  loggedStatus = status;
  log(`status: ${statusWord(status)}`);
}

// The start time and the duration, once a worker has started the job (the page may have been
// drawn while it was queued).
function paintTimes(data) {
  const started = document.querySelector("[data-role=started]");
  if (data.started_at && started && !started.querySelector("time")) {
    const time = document.createElement("time");
    time.dateTime = data.started_at;
    time.textContent = new Date(data.started_at).toLocaleString(undefined, {
      day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
    });
    started.replaceChildren(time);
  }
  const took = document.querySelector("[data-role=duration]");
  if (took && Number.isFinite(data.duration_seconds)) took.textContent = duration(data.duration_seconds);
}

async function poll() {
  let data;
  try {
    const since = lastEpoch >= 0 ? `?since_epoch=${lastEpoch}` : "";
    data = await getJSON(`/api/jobs/${jobId}/metrics/${since}`);
  } catch (error) {
    log(`could not read the job's progress: ${error.message}`);
    setTimeout(poll, POLL_MS * 2);
    return;
  }
  for (const row of data.results) {
    if (row.epoch <= lastEpoch) continue;
    history.push({ epoch: row.epoch, values: row.values, created: row.created });
    lastEpoch = row.epoch;
    logEpoch(row, data.total_epochs);
  }
  if (data.results.length) drawCharts();
  logStatus(data.status);
  for (const el of live.querySelectorAll("[data-role=epoch]")) el.textContent = String(data.epoch);
  if (data.status !== lastStatus) {
    lastStatus = data.status;
    updateButtons(data.status);
    // The evaluation and downloads are drawn by the server: show them once the job has finished.
    if (!ACTIVE.has(data.status)) reloadTimer = setTimeout(() => window.location.reload(), 600);
  }
  if (ACTIVE.has(data.status)) setTimeout(poll, POLL_MS);
}

function updateButtons(status) {
  document.getElementById("job-cancel").hidden = !ACTIVE.has(status);
  document.getElementById("job-retry").hidden = !(status === "failed" || status === "cancelled");
  document.getElementById("delete-open").hidden = ACTIVE.has(status); // the API refuses a running job
}

async function action(button, doing) {
  const errorBox = document.getElementById("job-action-error");
  errorBox.hidden = true;
  button.disabled = true;
  // A reload due because the job just finished would drop this action's answer (and a retry's
  // new page): hold it until the action is done.
  const reloadDue = reloadTimer !== null;
  clearTimeout(reloadTimer);
  reloadTimer = null;
  try {
    const job = await postJSON(button.dataset.url);
    if (job.id !== Number(jobId)) window.location.assign(`/jobs/${job.id}/`);
    else if (reloadDue) window.location.reload();
    else log(doing);
  } catch (error) {
    errorBox.textContent = error.message;
    errorBox.hidden = false;
  } finally {
    button.disabled = false;
  }
}

live.addEventListener("live:update", (event) => { // live.js may see it first
  updateButtons(event.detail.status);
  paintTimes(event.detail);
});
document.getElementById("job-cancel").addEventListener("click", (e) => action(e.currentTarget, "cancel requested"));
document.getElementById("job-retry").addEventListener("click", (e) => action(e.currentTarget, "retried"));
wireDelete();

// --- evaluation ---------------------------------------------------------------------------
function shadeMatrix() {
  for (const cell of document.querySelectorAll(".matrix .cell")) {
    const share = Number(cell.dataset.share) || 0;
    const hue = cell.classList.contains("correct") ? "59, 91, 219" : "232, 89, 12";
    // At most 70% of either hue under ink text keeps 6:1 contrast or more (WCAG AA is 4.5:1);
    // white text on these shades never reaches 4.5:1.
    cell.style.backgroundColor = `rgba(${hue}, ${(0.08 + 0.62 * share).toFixed(3)})`;
    cell.setAttribute("aria-pressed", "false");
  }
}

function note(text) {
  const p = document.createElement("p");
  p.className = "muted";
  p.textContent = text;
  return p;
}

// One example as the person knows it: the image, the table row, or the text; `unit` is
// what the dataset's kind calls one example ("row", "file").
function exampleItem(example, unit) {
  const item = document.createElement("li");
  item.dataset.exampleId = String(example.id);
  if (example.image) {
    const img = document.createElement("img");
    img.src = example.image;
    img.alt = `Test image ${example.id}`;
    item.append(img);
  }
  if (example.row) {
    const list = document.createElement("dl");
    for (const [column, value] of Object.entries(example.row)) {
      const dt = document.createElement("dt");
      dt.textContent = column;
      const dd = document.createElement("dd");
      dd.textContent = value;
      list.append(dt, dd);
    }
    item.append(list);
  }
  const caption = document.createElement("div");
  caption.className = "small muted";
  caption.textContent = `${unit || "row"} ${example.id} · ${(100 * example.confidence).toFixed(1)}% sure`;
  item.append(caption);
  return item;
}

// Table rows (and texts) as one table, a column per uploaded column, that scrolls sideways
// when it is wider than the page; short values never break inside.
function exampleTable(examples, unit) {
  const cell = (tag, text, className) => {
    const el = document.createElement(tag);
    el.textContent = text;
    if (tag === "th") el.scope = "col";
    if (className) el.className = className;
    return el;
  };
  const columns = [...new Set(examples.flatMap((e) => Object.keys(e.row)))];
  const table = document.createElement("table");
  table.className = "list example-table";
  const head = document.createElement("tr");
  head.append(cell("th", unit || "row"), ...columns.map((c) => cell("th", c)), cell("th", "sure", "num"));
  table.createTHead().append(head);
  const body = table.createTBody();
  for (const example of examples) {
    const tr = document.createElement("tr");
    tr.dataset.exampleId = String(example.id);
    tr.append(cell("td", String(example.id), "num"));
    for (const column of columns) {
      const value = example.row[column] ?? "";
      tr.append(cell("td", String(value), String(value).length > 40 ? "long" : ""));
    }
    tr.append(cell("td", `${(100 * example.confidence).toFixed(1)}%`, "num"));
    body.append(tr);
  }
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  wrap.tabIndex = 0;
  wrap.setAttribute("role", "region");
  wrap.setAttribute("aria-label", "Examples (scrolls sideways when wide)");
  wrap.append(table);
  return wrap;
}

async function showExamples(cell) {
  for (const other of document.querySelectorAll(".matrix .cell")) other.setAttribute("aria-pressed", "false");
  cell.setAttribute("aria-pressed", "true");
  const box = document.getElementById("examples");
  const { true: truth, pred, count } = cell.dataset;
  const heading = document.createElement("h4");
  heading.textContent = `True ${truth}, predicted ${pred}: ${count} test example${count === "1" ? "" : "s"}`;
  box.replaceChildren(heading, note("Loading the examples…"));
  let answer;
  try {
    answer = await getJSON(`/api/jobs/${jobId}/examples/?true=${cell.dataset.trueIndex}&pred=${cell.dataset.predIndex}`);
  } catch (error) {
    box.replaceChildren(heading, note(`The examples could not be read: ${error.message}`));
    return;
  }
  if (!answer.available) {
    box.replaceChildren(heading, note(answer.reason));
    return;
  }
  const rows = answer.examples.length && answer.examples.every((e) => e.row && !e.image);
  const list = rows ? exampleTable(answer.examples, answer.unit) : document.createElement("ul");
  if (!rows) for (const example of answer.examples) list.append(exampleItem(example, answer.unit));
  const shown = answer.count > answer.examples.length ? [note(`The ${answer.examples.length} most confident are shown.`)] : [];
  box.replaceChildren(heading, ...shown, answer.examples.length ? list : note("No test example fell here."));
}

if (document.querySelector(".matrix")) {
  shadeMatrix();
  for (const cell of document.querySelectorAll(".matrix .cell")) cell.addEventListener("click", () => showExamples(cell));
}

const residuals = document.getElementById("residual-data");
if (residuals) {
  const points = JSON.parse(residuals.textContent).map((r) => ({ x: r.true, y: r.predicted }));
  scatterChart(document.getElementById("residual-chart"), points, "true value", "predicted value");
}

if (window.hljs) for (const block of document.querySelectorAll("pre code")) window.hljs.highlightElement(block);

// --- start ----------------------------------------------------------------------------------
poll();
