// Status badges and progress bars that update themselves: every element with data-live-url
// (a dataset or job in the API) is polled every two seconds until it has finished.
import { getJSON } from "./api.js";
import { duration, statusWord } from "./format.js";

const FINISHED = new Set(["ready", "failed", "succeeded", "cancelled", "pruned"]);
const INTERVAL_MS = 2000;

function paint(root, data) {
  root.dataset.status = data.status;
  for (const badge of root.querySelectorAll("[data-role=status]")) {
    badge.className = `badge badge-${data.status}`;
    badge.textContent = statusWord(data.status);
  }
  for (const bar of root.querySelectorAll("[data-role=progress]")) {
    bar.hidden = data.status !== "running";
    const meter = bar.querySelector("progress");
    if (meter && data.percent !== undefined) meter.value = data.percent;
    const text = bar.querySelector("[data-role=percent]");
    if (text && data.percent !== undefined) {
      const eta = Number.isFinite(data.eta_seconds) ? ` · ${duration(data.eta_seconds)} left` : "";
      text.textContent = `${Math.round(data.percent)}%${eta}`;
    }
  }
  root.dispatchEvent(new CustomEvent("live:update", { detail: data, bubbles: true }));
}

function watch(root) {
  const url = root.dataset.liveUrl;
  const tick = async () => {
    try {
      const data = await getJSON(url);
      paint(root, data);
      if (FINISHED.has(data.status)) return;
    } catch (error) {
      if (error.status === 404) return; // deleted meanwhile: nothing more to show
    }
    setTimeout(tick, INTERVAL_MS);
  };
  setTimeout(tick, INTERVAL_MS);
}

export function watchAll(scope = document) {
  for (const root of scope.querySelectorAll("[data-live-url]")) {
    if (!FINISHED.has(root.dataset.status)) watch(root);
  }
}

watchAll();
