// A dataset's page: the class-balance chart, delete after a confirmation, and a fresh page once
// ingestion finishes (live.js polls the status; the profile is rendered by the server).
import { barChart } from "./charts.js";
import { wireDelete } from "./delete.js";

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

wireDelete();
