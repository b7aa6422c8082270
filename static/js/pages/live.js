// Status badges and progress bars that update themselves: every element with data-live-url
// (a dataset or job in the API) is polled every two seconds until it has finished. An element
// with data-live-wait="S" asks the server to hold each answer up to S seconds until the object
// has finished (?wait=S), so it changes as it happens; only one per page, since each held
// request keeps one of the browser's few connections to the server busy.
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
  const hold = Number(root.dataset.liveWait || 0);
  const url = hold ? `${root.dataset.liveUrl}?wait=${hold}` : root.dataset.liveUrl;
  const tick = async () => {
    const asked = Date.now();
    try {
      const data = await getJSON(url);
      paint(root, data);
      if (FINISHED.has(data.status)) return;
      // Held for its time: ask again at once. Answered early (the server holds only so many): poll.
      if (hold && Date.now() - asked >= hold * 500) return tick();
    } catch (error) {
      if (error.status === 404) return; // deleted meanwhile: nothing more to show
    }
    setTimeout(tick, INTERVAL_MS);
  };
  setTimeout(tick, hold ? 0 : INTERVAL_MS);
}

export function watchAll(scope = document) {
  for (const root of scope.querySelectorAll("[data-live-url]")) {
    if (!FINISHED.has(root.dataset.status)) watch(root);
  }
}

watchAll();
