// The train form: sends what the person chose to POST /api/jobs/ and shows the API's own
// messages on the fields they name ("hyperparameters.batch_size" -> that input).
import { getJSON, postJSON } from "./api.js";
import { clearErrors, showErrors } from "./forms.js";
import { duration, grouped, size } from "./format.js";

const form = document.getElementById("train-form");
const statusLine = document.getElementById("train-status");
const submit = document.getElementById("train-submit");

function value(input) {
  if (input.dataset.type === "boolean") return input.checked;
  const raw = input.value.trim();
  if (raw === "") return null;
  if (input.dataset.type === "integer" || input.dataset.type === "number") {
    const number = Number(raw);
    return Number.isFinite(number) ? number : raw; // the server names what is wrong with it
  }
  return raw;
}

function showApiError(error) {
  showErrors(form, (error.body && error.body.errors) || [{ field: null, message: error.message }]);
}

function body() {
  const hyperparameters = {};
  for (const input of form.querySelectorAll("[data-hp]")) {
    const v = value(input);
    if (v !== null) hyperparameters[input.dataset.hp] = v;
  }
  return {
    architecture: Number(form.getAttribute("data-architecture")), // form.dataset is the "dataset" select
    dataset: Number(form.elements.dataset.value),
    framework: form.querySelector("input[name=framework]:checked").value,
    hyperparameters,
  };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  submit.disabled = true;
  statusLine.textContent = "Checking and queueing…";
  try {
    const job = await postJSON("/api/jobs/", body());
    statusLine.textContent = `Job #${job.id} queued. Opening it…`;
    window.location.assign(`/jobs/${job.id}/`);
  } catch (error) {
    statusLine.textContent = "";
    showApiError(error);
    submit.disabled = false;
  }
});

// The dry run: the same body to POST /api/jobs/estimate/, which queues it (202) on a training
// worker; the page then polls the estimate (an estimate nobody polls is cancelled) and shows
// where it is until the worker has timed a few real training batches.
const ESTIMATE_POLL_MS = 1000;
const estimateButton = document.getElementById("estimate");
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function estimateProgress(estimate) {
  if (estimate.status === "queued") {
    const ahead = estimate.queued_ahead ? ` (${grouped(estimate.queued_ahead)} of yours first)` : "";
    return `Waiting for a training worker${ahead}…`;
  }
  return "Training a few batches on a worker…";
}

// The whole job as a range: from where early stopping is likely to end it (the API says what
// that is read from) up to every epoch asked for.
function totalText(answer) {
  const budget = `${duration(answer.seconds_budget)} for ${grouped(answer.epochs_budget)} epochs`;
  const stop = grouped(answer.epochs_early_stop);
  if (answer.epochs_early_stop_basis === "budget") return `about ${budget} (early stopping is off)`;
  if (answer.epochs_early_stop >= answer.epochs_budget) {
    return answer.epochs_early_stop_basis === "history"
      ? `about ${budget} (your finished jobs on this dataset ran at least as many)`
      : `about ${budget} (with patience ${grouped(answer.patience)}, early stopping cannot end it sooner)`;
  }
  if (answer.epochs_early_stop_basis === "history") {
    const jobs = answer.history_jobs === 1 ? "your last finished job" : `your last ${grouped(answer.history_jobs)} finished jobs`;
    return `likely about ${duration(answer.seconds_early_stop)}: early stopping ends it near epoch ${stop} ` +
      `(the median of ${jobs} on this dataset); up to ${budget}`;
  }
  return `from ${duration(answer.seconds_early_stop)}, if early stopping ends it as soon as it can (epoch ${stop}: ` +
    `patience ${grouped(answer.patience)} + 1), up to ${budget}; your finished jobs on this dataset will say how soon it usually does`;
}

// One peak, and what it is made of, beside the validator's count of the model's own tensors.
function memoryText(answer) {
  const model = `the validator counts ${size(answer.model_memory_bytes)} for the model's own tensors at batch ${answer.batch_size}`;
  const data = `; a job also holds its training and validation data (${size(answer.data_memory_bytes)})`;
  if (answer.memory_measured_on === "gpu") {
    return `${size(answer.peak_memory_bytes)} GPU peak for training the model; ${model}${data}`;
  }
  return `${size(answer.peak_memory_bytes)} of the process: ${size(answer.runtime_memory_bytes)} the framework's runtime ` +
    `(once per job, whatever the model) + ${size(answer.training_memory_bytes)} building and training the model; ${model}${data}`;
}

estimateButton?.addEventListener("click", async () => {
  clearErrors(form);
  const status = document.getElementById("estimate-status");
  const result = document.getElementById("estimate-result");
  const sent = body();
  estimateButton.disabled = true;
  result.hidden = true;
  status.textContent = "Queueing the estimate…";
  try {
    let estimate = await postJSON("/api/jobs/estimate/", sent);
    while (estimate.status === "queued" || estimate.status === "running") {
      status.textContent = estimateProgress(estimate);
      await sleep(ESTIMATE_POLL_MS);
      estimate = await getJSON(estimate.url);
    }
    if (estimate.status !== "done") {
      status.textContent = "";
      showErrors(form, [{ field: null, message: estimate.error || `The estimate was ${estimate.status}.` }]);
      return;
    }
    const answer = estimate.answer;
    const fill = (key, text) => { result.querySelector(`[data-estimate=${key}]`).textContent = text; };
    fill("epoch", `${duration(answer.seconds_per_epoch)} (${grouped(answer.batches_per_epoch)} batches of ${answer.batch_size})`);
    fill("total", totalText(answer));
    fill("memory", memoryText(answer));
    fill("device", answer.device);
    result.hidden = false;
    status.textContent = "";
  } catch (error) {
    status.textContent = "";
    showApiError(error);
  } finally {
    estimateButton.disabled = false;
  }
});
