// A dataset's page: the class-balance chart, delete through the API, and a fresh page once
// ingestion finishes (live.js polls the status; the profile is rendered by the server).
import { request } from "./api.js";
import { barChart } from "./charts.js";

const live = document.getElementById("dataset-live");
const startedAs = live.dataset.status;
live.addEventListener("live:update", (event) => {
  const now = event.detail.status;
  if (now !== startedAs && (now === "ready" || now === "failed")) window.location.reload();
});

const classes = document.getElementById("class-data");
if (classes) {
  const rows = JSON.parse(classes.textContent);
  barChart(document.getElementById("class-chart"), rows.map((r) => r.name), rows.map((r) => r.count), "Examples");
}

const dialog = document.getElementById("delete-dialog");
document.getElementById("delete-open").addEventListener("click", () => dialog.showModal());
const confirmButton = document.getElementById("delete-confirm");
confirmButton.addEventListener("click", async () => {
  const errorBox = document.getElementById("delete-error");
  confirmButton.disabled = true;
  try {
    await request("DELETE", confirmButton.dataset.url);
    window.location.assign("/datasets/");
  } catch (error) {
    errorBox.textContent = error.message;
    errorBox.hidden = false;
    confirmButton.disabled = false;
  }
});
