// The dashboard's storage line from GET /api/usage/ (the numbers scripts get): what the
// user's datasets and jobs hold on disk against the quota that uploads and jobs are refused
// past, and the per-user limits on running jobs and named models.
import { getJSON } from "./api.js";
import { size } from "./format.js";

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
