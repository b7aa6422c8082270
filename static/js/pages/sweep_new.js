// The new-sweep form: the ticked rows become the search space, the others the settings every trial
// shares; POST /api/sweeps/ checks everything and its errors land on the rows they name.
import { postJSON } from "./api.js";
import { clearErrors, showErrors } from "./forms.js";

const form = document.getElementById("sweep-form");
const status = document.getElementById("sweep-status");

function parseValue(text, type) {
  const t = text.trim();
  if (type === "integer" || type === "number") return t === "" ? null : Number(t);
  if (t === "true" || t === "false") return t === "true";
  return t;
}

function dimension(row) {
  const type = row.dataset.type;
  const values = row.querySelector('[data-role="values"]').value.trim();
  const low = row.querySelector('[data-role="low"]');
  const high = row.querySelector('[data-role="high"]');
  if (low && high && low.value !== "" && high.value !== "" && values === "") {
    const dim = { low: Number(low.value), high: Number(high.value) };
    if (row.querySelector('[data-role="log"]').checked) dim.log = true;
    if (type === "integer") dim.integer = true;
    return dim;
  }
  return { values: values.split(",").filter((v) => v.trim() !== "").map((v) => parseValue(v, type)) };
}

function body() {
  const space = {};
  const hyperparameters = {};
  for (const row of form.querySelectorAll("tr[data-setting]")) {
    const name = row.dataset.setting;
    if (row.querySelector('[data-role="vary"]').checked) {
      space[name] = dimension(row);
    } else if (row.dataset.kind === "hp") {
      const fixed = row.querySelector('[data-role="fixed"]');
      const value = parseValue(fixed.value, row.dataset.type);
      if (value !== null && value !== "") hyperparameters[name] = value;
    }
  }
  const number = (id) => (form.querySelector(id).value === "" ? undefined : Number(form.querySelector(id).value));
  return {
    dataset: Number(form.querySelector("#id_dataset").value),
    architectures: [Number(form.getAttribute("data-architecture"))],
    framework: form.querySelector('input[name="framework"]:checked').value,
    method: form.querySelector("#id_method").value,
    metric: form.querySelector("#id_metric").value,
    max_trials: number("#id_max_trials"),
    parallel: number("#id_parallel"),
    max_seconds: number("#id_max_seconds"),
    pruner: form.querySelector("#id_prune").checked ? "median" : "none",
    space,
    hyperparameters,
  };
}

// The suggested settings (learning rate, batch size) start ticked.
for (const box of form.querySelectorAll('[data-role="vary"][data-suggested]')) box.checked = true;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  status.textContent = "Starting…";
  try {
    const sweep = await postJSON("/api/sweeps/", body());
    status.textContent = `Sweep ${sweep.id} started.`;
    window.location.assign(`/sweeps/${sweep.id}/`);
  } catch (err) {
    status.textContent = "";
    showErrors(form, err.body.errors || [{ field: "", message: err.message }]);
  }
});
