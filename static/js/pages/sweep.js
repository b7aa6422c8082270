// One sweep's page: polls GET /api/sweeps/<id>/ while it runs and redraws the trials table (sortable),
// the scatter of a setting against the validation metric, and the best trials' validation curves.
import { getJSON, postJSON } from "./api.js";
import { COLORS, lineChart, lineSeries, scatterChart } from "./charts.js";
import { clearErrors, showErrors } from "./forms.js";

const root = document.getElementById("sweep-live");
const url = root.dataset.url;
const metric = root.dataset.metric;
const better = root.dataset.direction === "maximize" ? -1 : 1; // sort factor: best first
const ACTIVE = new Set(["running", "evaluating"]);
const BEST = 3;
const body = document.querySelector("#trials tbody");
const settings = [...document.querySelectorAll("#trials [data-sort^='param:']")].map((b) => b.dataset.sort.slice(6));
let sort = { key: "number", sign: 1 };
let sweep = null;
let scatter = null;
let curves = null;
const curveCache = new Map(); // job id -> {points, final}

const shown = (t) => (t.value ?? t.last_value);

function sortValue(trial, key) {
  if (key === "metric") return shown(trial);
  if (key.startsWith("param:")) return trial.params[key.slice(6)];
  return trial[key];
}

function sorted(trials) {
  return [...trials].sort((a, b) => {
    const x = sortValue(a, sort.key);
    const y = sortValue(b, sort.key);
    if (x === y) return a.number - b.number;
    if (x === null || x === undefined) return 1; // trials without a value last, whichever way
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * sort.sign;
  });
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function formatNumber(value) {
  return typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toPrecision(4)) : String(value ?? "");
}

function drawTable() {
  if (!sweep.trials.length) return;
  const rows = sorted(sweep.trials).map((t) => {
    const tr = document.createElement("tr");
    tr.dataset.trial = t.number;
    tr.append(cell(String(t.number), "num"));
    for (const name of settings) tr.append(cell(formatNumber(t.params[name]), "num"));
    const status = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `badge badge-${t.status}`;
    badge.textContent = t.status_display;
    if (t.error) badge.title = t.error;
    status.append(badge);
    if (sweep.winner && t.job === sweep.winner) status.append(" ", Object.assign(document.createElement("strong"), { textContent: "winner" }));
    tr.append(status, cell(String(t.epochs_run), "num"), cell(shown(t) == null ? "" : formatNumber(shown(t)), "num"));
    const job = document.createElement("td");
    if (t.job) job.append(Object.assign(document.createElement("a"), { href: `/jobs/${t.job}/`, textContent: `#${t.job}` }));
    tr.append(job);
    return tr;
  });
  body.replaceChildren(...rows);
}

function drawScatter() {
  const name = document.getElementById("scatter-setting").value;
  const points = sweep.trials.filter((t) => shown(t) != null && typeof t.params[name] === "number")
    .map((t) => ({ x: t.params[name], y: shown(t) }));
  if (!scatter) {
    scatter = scatterChart(document.getElementById("scatter"), points, name, metric);
  } else {
    scatter.data.datasets[0].data = points;
    scatter.options.scales.x.title.text = name;
  }
  const logScale = Boolean((sweep.space[name] || {}).log);
  scatter.options.scales.x.type = logScale ? "logarithmic" : "linear";
  scatter.update();
}

async function curveOf(trial) {
  const cached = curveCache.get(trial.job);
  if (cached && cached.final) return cached.points;
  const answer = await getJSON(`/api/jobs/${trial.job}/metrics/?since_epoch=0`);
  const points = answer.results.filter((row) => typeof row.values[metric] === "number")
    .map((row) => [row.epoch, row.values[metric]]);
  curveCache.set(trial.job, { points, final: !ACTIVE.has(trial.status) && trial.status !== "queued" });
  return points;
}

async function drawCurves() {
  const best = sweep.trials.filter((t) => t.job && shown(t) != null)
    .sort((a, b) => (shown(a) - shown(b)) * better).slice(0, BEST);
  const series = [];
  for (const [i, t] of best.entries()) {
    series.push({ label: `trial ${t.number} (job #${t.job})`, data: await curveOf(t), color: COLORS[i % COLORS.length] });
  }
  if (!curves) {
    curves = lineChart(document.getElementById("best-curves"), "", series);
  } else {
    curves.data.datasets = series.map((s, i) => lineSeries(s, i));
    curves.update();
  }
}

function drawHead() {
  const badge = root.querySelector('[data-role="status"]');
  badge.className = `badge badge-${sweep.status}`;
  badge.textContent = sweep.status_display;
  if (sweep.note) document.getElementById("sweep-note").textContent = sweep.note;
  document.getElementById("sweep-cancel").hidden = !ACTIVE.has(sweep.status);
  const box = document.getElementById("winner-box");
  box.hidden = !sweep.winner;
  if (sweep.winner) {
    root.querySelector('[data-role="winner"]').textContent = sweep.winner;
    document.getElementById("winner-link").href = `/jobs/${sweep.winner}/`;
  }
  const test = sweep.winner_test_evaluation;
  if (test && !document.querySelector("#winner-test div")) {
    const facts = test.task === "classification" ? [["Test accuracy", test.accuracy], ["Test macro F1", test.macro_f1]]
      : [["Test MAE", test.mae], ["Test RMSE", test.rmse]];
    for (const [label, value] of [["Test samples", test.samples], ...facts]) {
      const div = document.createElement("div");
      div.append(Object.assign(document.createElement("dt"), { textContent: label }),
        Object.assign(document.createElement("dd"), { textContent: formatNumber(value) }));
      document.getElementById("winner-test").append(div);
    }
  }
  document.getElementById("publish-form").hidden = sweep.status !== "finished";
  document.getElementById("retrain-box").hidden = sweep.status !== "finished";
  if (sweep.retrained) showRetrained(sweep.retrained);
}

function showRetrained(jobId) {
  document.getElementById("retrain").hidden = true;
  const link = Object.assign(document.createElement("a"), { href: `/jobs/${jobId}/`, textContent: `job #${jobId}` });
  document.getElementById("retrain-status").replaceChildren("Retrained as ", link, ".");
}

async function refresh() {
  try {
    sweep = await getJSON(url);
  } catch (err) {
    document.getElementById("sweep-action-error").textContent = err.message;
    document.getElementById("sweep-action-error").hidden = false;
    return true;
  }
  document.getElementById("sweep-action-error").hidden = true;
  drawHead();
  drawTable();
  drawScatter();
  await drawCurves();
  // After a cancel its trials take a moment to stop: follow them until none is queued or running.
  return ACTIVE.has(sweep.status) || sweep.trials.some((t) => t.status === "queued" || t.status === "running");
}

let polling = false;
async function poll() {
  if (polling) return; // one loop at a time (the cancel button starts one if none runs)
  polling = true;
  try {
    while (await refresh()) await new Promise((resolve) => setTimeout(resolve, 2000));
  } finally {
    polling = false;
  }
}

for (const button of document.querySelectorAll("#trials [data-sort]")) {
  button.addEventListener("click", () => {
    const key = button.dataset.sort;
    sort = { key, sign: sort.key === key ? -sort.sign : (key === "metric" ? better : 1) };
    for (const other of document.querySelectorAll("#trials th")) other.removeAttribute("aria-sort");
    button.closest("th").setAttribute("aria-sort", sort.sign > 0 ? "ascending" : "descending");
    if (sweep) drawTable();
  });
}
document.getElementById("scatter-setting").addEventListener("change", () => sweep && drawScatter());

document.getElementById("sweep-cancel").addEventListener("click", async (event) => {
  event.target.disabled = true;
  try {
    await postJSON(event.target.dataset.url);
  } catch (err) {
    document.getElementById("sweep-action-error").textContent = err.message;
    document.getElementById("sweep-action-error").hidden = false;
  }
  event.target.disabled = false;
  poll();
});

document.getElementById("retrain").addEventListener("click", async (event) => {
  event.target.disabled = true;
  try {
    showRetrained((await postJSON(event.target.dataset.url)).id);
  } catch (err) {
    document.getElementById("retrain-status").textContent = err.message;
  }
  event.target.disabled = false;
});

const publish = document.getElementById("publish-form");
publish.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(publish);
  const name = publish.querySelector("#id_endpoint_name").value.trim();
  try {
    const endpoint = await postJSON(`${url}publish/`, { name });
    document.getElementById("publish-status").textContent =
      `Published: POST /api/models/${endpoint.name}/predict/ answers with job #${endpoint.job}.`;
  } catch (err) {
    showErrors(publish, err.body.errors || [{ field: "", message: err.message }]);
  }
});

poll();
