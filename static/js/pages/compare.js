// The comparison's overlaid curves: every compared job's metrics, one chart per metric,
// one colour per job, training solid and validation dashed.
import { getJSON } from "./api.js";
import { COLORS, lineChart } from "./charts.js";

const jobs = [...document.querySelectorAll("[data-compare-job]")].map((el) => ({ id: el.dataset.compareJob, label: el.dataset.label }));

async function draw() {
  const box = document.getElementById("compare-charts");
  if (!box) return;
  const results = await Promise.all(jobs.map((j) => getJSON(`/api/jobs/${j.id}/metrics/`)));
  const keys = [...new Set(results.flatMap((r) => r.results.flatMap((row) => Object.keys(row.values))))]
    .filter((k) => !/seconds|per_second|^lr$|learning_rate/.test(k) && !k.startsWith("val_"));
  const empty = document.getElementById("compare-empty");
  if (keys.length) empty.remove();
  else empty.textContent = "None of these jobs has finished an epoch yet.";
  for (const key of keys) {
    const series = [];
    results.forEach((r, i) => {
      const color = COLORS[i % COLORS.length];
      const points = (name) => r.results.filter((row) => Number.isFinite(row.values[name])).map((row) => [row.epoch, row.values[name]]);
      series.push({ label: `${jobs[i].label} training`, color, data: points(key) });
      series.push({ label: `${jobs[i].label} validation`, color, dashed: true, data: points(`val_${key}`) });
    });
    const holder = document.createElement("div");
    holder.className = "chart-box";
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${key} per epoch for each compared job; final values are in the table`);
    canvas.dataset.metric = key;
    holder.append(canvas);
    box.append(holder);
    lineChart(canvas, key, series);
  }
}

// "Download logs for these jobs": the jobs that have TensorBoard logs (written when a job
// ends), as one zip the API lays out as one log folder; jobs without logs yet are named.
async function offerLogs() {
  const box = document.getElementById("compare-logs");
  if (!box) return;
  const lists = await Promise.all(jobs.map((j) => getJSON(`/api/jobs/${j.id}/artifacts/`)));
  const withLogs = jobs.filter((j, i) => lists[i].some((a) => a.kind === "tensorboard")).map((j) => j.id);
  if (!withLogs.length) return;
  box.querySelector("a").href = `${box.dataset.logsUrl}?ids=${withLogs.join(",")}`;
  const without = jobs.filter((j) => !withLogs.includes(j.id)).map((j) => `#${j.id}`);
  if (without.length) box.querySelector("span").textContent = `no logs yet for ${without.join(", ")}`;
  box.hidden = false;
}

draw();
offerLogs();
