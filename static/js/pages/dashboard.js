// The dashboard's storage line from GET /api/usage/ (the numbers scripts get): what the
// user's datasets and jobs hold on disk against the quota that uploads and jobs are refused
// past, and the per-user limits on running jobs and named models.
import { getJSON } from "./api.js";
import { size } from "./format.js";

// A demo takes a few seconds to make on the server: say so at once, and ignore a second click
// (the buttons stay enabled so the chosen one is still sent with the form).
for (const form of document.querySelectorAll(".demo-form")) {
  form.addEventListener("submit", (event) => {
    if (form.dataset.busy) {
      event.preventDefault();
      return;
    }
    form.dataset.busy = "true";
    const name = event.submitter?.dataset.name || "the demo";
    for (const button of form.querySelectorAll("button")) button.setAttribute("aria-disabled", "true");
    const status = form.querySelector(".demo-status");
    status.querySelector("[data-role=text]").textContent = `Preparing ${name}… this takes a few seconds.`;
    status.querySelector("progress").hidden = false;
  });
}

// Back to this page from the browser's cache: the demo buttons work again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll(".demo-form")) {
    delete form.dataset.busy;
    for (const button of form.querySelectorAll("button")) button.removeAttribute("aria-disabled");
    form.querySelector(".demo-status [data-role=text]").textContent = "";
    form.querySelector(".demo-status progress").hidden = true;
  }
});

// "Added X; it is being prepared." turns into "X is ready." once its row says so.
for (const message of document.querySelectorAll(".messages [class*=prepares-dataset-]")) {
  const pk = /prepares-dataset-(\d+)/.exec(message.className)[1];
  const row = document.querySelector(`[data-live-url="/api/datasets/${pk}/"]`);
  const done = (status) => {
    if (status === "ready") message.textContent = message.textContent.replace(/^Added (.*); it is being prepared\.$/, "$1 is ready.");
    else if (status === "failed") message.remove(); // the row's badge says it failed
  };
  if (row) {
    done(row.dataset.status);
    row.addEventListener("live:update", (event) => done(event.detail.status));
  }
}

const box = document.getElementById("storage");
const text = box.querySelector("[data-role=text]");
const meter = box.querySelector("[data-role=meter]");
const limits = box.querySelector("[data-role=limits]");

try {
  const usage = await getJSON(box.dataset.url);
  if (usage.quota_bytes) {
    const share = usage.used_bytes / usage.quota_bytes;
    text.textContent = `Storage: ${size(usage.used_bytes)} of ${size(usage.quota_bytes)}`;
    text.title = `Datasets ${size(usage.datasets_bytes)} · jobs ${size(usage.jobs_bytes)}`;
    meter.value = Math.min(share, 1);
    meter.hidden = false;
  } else {
    text.textContent = `Storage: ${size(usage.used_bytes)} (no quota)`;
  }
  limits.textContent = `Jobs queued or running: ${usage.active_jobs} of ${usage.active_jobs_limit} · ` +
    `estimates: ${usage.estimates} of ${usage.estimates_limit} · named models: ${usage.endpoints} of ${usage.endpoints_limit}`;
} catch (error) {
  text.textContent = `Storage use is not available: ${error.message}`;
}
