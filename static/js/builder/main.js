// The architecture builder. The page keeps the spec being edited; every change is posted
// (debounced) to the API's own validate endpoint, whose report gives each layer's shape and
// parameter count and every error with its layer and parameter. User text is only ever
// set with textContent or as a form value.

import { wireDelete } from "../pages/delete.js";
import { grouped, size } from "../pages/format.js";
import { getJSON, postJSON, request } from "../pages/api.js";
import { debounce } from "./debounce.js";
import { CodePanel } from "./code.js";
import { drawDiagram } from "./diagram.js";
import { formatShape } from "./format.js";
import { buildParamsForm, el } from "./schema_form.js";

const root = document.getElementById("builder");
const $ = (id) => document.getElementById(id);

const CATEGORY_TITLES = {
  core: "Core",
  convolution: "Convolution",
  pooling: "Pooling",
  normalization: "Normalization",
  recurrent: "Recurrent",
  attention: "Attention",
  merge: "Merge",
};
// Starting values for parameters that have no default, so a new layer is valid at once.
const STARTERS = {
  units: 32,
  rate: 0.2,
  filters: 16,
  kernel_size: 3,
  activation: "relu",
  input_dim: 1000,
  output_dim: 32,
  target_shape: [-1],
  layer: { type: "LSTM", params: { units: 32 } },
  num_heads: 2,
  key_dim: 16, // 2 x 16 = the starting output_dim of an Embedding
};
// The parameters worth seeing on the row without opening the layer.
const KEY_PARAMS = ["units", "filters", "kernel_size", "strides", "pool_size", "rate", "activation", "output_dim", "target_shape", "axis", "return_sequences"];

const state = {
  archId: root.dataset.architectureId ? Number(root.dataset.architectureId) : null,
  dataset: root.dataset.dataset ? JSON.parse(root.dataset.dataset) : null,
  preset: root.dataset.preset || "",
  meta: { format: 1, name: "model", input: { shape: [4] } },
  layers: [], // {uid, id, type, params, inputs (explicit list or undefined)}
  selected: null,
  catalog: new Map(),
  report: null,
  errors: [],
  dirty: false,
  edits: 0, // counts changes, so a save knows whether more came while it was on its way
  validateSeq: 0,
  nextUid: 1,
};
const code = new CodePanel();

// --- the spec --------------------------------------------------------------------------

function currentSpec() {
  const spec = { ...state.meta, input: { shape: state.meta.input.shape } };
  spec.layers = state.layers.map((layer) => {
    const out = { id: layer.id, type: layer.type };
    if (Object.keys(layer.params).length) out.params = layer.params;
    if (layer.inputs) out.inputs = layer.inputs;
    return out;
  });
  return spec;
}

function loadSpec(spec) {
  const { layers, ...meta } = spec && typeof spec === "object" ? spec : {};
  state.meta = { format: 1, name: "model", ...meta };
  if (!state.meta.input || !Array.isArray(state.meta.input.shape)) {
    state.meta.input = { shape: state.dataset ? state.dataset.input_shape : [4] };
  }
  state.layers = (Array.isArray(layers) ? layers : []).map((layer) => ({
    uid: `L${state.nextUid++}`,
    id: String(layer.id ?? ""),
    type: String(layer.type ?? ""),
    params: layer.params && typeof layer.params === "object" ? { ...layer.params } : {},
    inputs: Array.isArray(layer.inputs) ? [...layer.inputs] : undefined,
  }));
  state.selected = null;
}

function effectiveInputs(index) {
  const layer = state.layers[index];
  if (layer.inputs) return layer.inputs;
  return index === 0 ? ["input"] : [state.layers[index - 1].id];
}

function uniqueId(type) {
  const base = type.toLowerCase().replace(/[^a-z0-9]/g, "") || "layer";
  const taken = new Set(state.layers.map((l) => l.id));
  let n = 1;
  while (taken.has(`${base}${n}`)) n += 1;
  return `${base}${n}`;
}

function summary(layer) {
  const parts = [];
  for (const key of KEY_PARAMS) {
    if (!(key in layer.params)) continue;
    const value = layer.params[key];
    parts.push(`${key} ${Array.isArray(value) ? value.join("×") : typeof value === "object" ? JSON.stringify(value) : value}`);
  }
  return parts.join(" · ");
}

// --- changes -----------------------------------------------------------------------------

const draftKey = () => `layerloom.builder.${state.archId || `new-${state.dataset ? state.dataset.id : "none"}`}`;

function storeDraft() {
  try {
    localStorage.setItem(draftKey(), JSON.stringify({ name: $("arch-name").value, spec: currentSpec(), at: new Date().toISOString() }));
  } catch (err) {
    /* storage full or disabled: the beforeunload warning still protects the edits */
  }
}

function changed({ rerender = false } = {}) {
  state.dirty = true;
  state.edits += 1;
  storeDraft();
  $("save-state").textContent = "Unsaved changes";
  $("validation-state").textContent = "Checking…";
  if (rerender) renderLayers();
  validateSoon();
}

// A number inside the parameter's bounds: its minimum, else the middle of a bounded range
// (a rotation factor in (0, 0.5] starts at 0.25), else 1 (or the top, when that is lower).
function starterNumber(property) {
  if (property.minimum !== undefined) return property.minimum;
  const low = property.exclusiveMinimum;
  const high = property.maximum ?? property.exclusiveMaximum;
  if (low !== undefined && high !== undefined) return (low + high) / 2;
  if (low !== undefined) return Math.floor(low) + 1;
  return high !== undefined ? Math.min(1, high) : 1;
}

function addLayer(type) {
  const entry = state.catalog.get(type);
  if (!entry) return;
  const params = {};
  for (const name of entry.json_schema.required || []) {
    const property = entry.json_schema.properties[name];
    // The schema's own example where it gives one, else a number inside its bounds.
    params[name] = name in STARTERS ? STARTERS[name] : property.enum ? property.enum[0] : property.examples?.[0] ?? starterNumber(property);
  }
  const at = state.selected ? state.layers.findIndex((l) => l.uid === state.selected) + 1 : state.layers.length;
  const layer = { uid: `L${state.nextUid++}`, id: uniqueId(type), type, params, inputs: undefined };
  if (entry.min_inputs > 1) {
    // A merge layer starts from the two layers above it; the person picks others as chips.
    const above = state.layers.slice(0, at).map((l) => l.id);
    layer.inputs = above.length >= 2 ? above.slice(-2) : ["input", ...above].slice(-2);
  }
  state.layers.splice(at, 0, layer);
  state.selected = layer.uid;
  changed({ rerender: true });
  focusRow(layer.uid);
}

function removeLayer(uid) {
  const index = state.layers.findIndex((l) => l.uid === uid);
  if (index < 0) return;
  const [gone] = state.layers.splice(index, 1);
  for (const layer of state.layers) {
    if (layer.inputs) {
      layer.inputs = layer.inputs.filter((ref) => ref !== gone.id);
      if (!layer.inputs.length) layer.inputs = undefined;
    }
  }
  const next = state.layers[Math.min(index, state.layers.length - 1)];
  state.selected = state.selected === uid ? null : state.selected;
  changed({ rerender: true });
  if (next) focusRow(next.uid);
  else $("palette").querySelector("button")?.focus();
}

function duplicateLayer(uid) {
  const index = state.layers.findIndex((l) => l.uid === uid);
  const source = state.layers[index];
  const copy = {
    uid: `L${state.nextUid++}`,
    id: uniqueId(source.type),
    type: source.type,
    params: JSON.parse(JSON.stringify(source.params)),
    inputs: source.inputs ? [...source.inputs] : undefined,
  };
  state.layers.splice(index + 1, 0, copy);
  state.selected = copy.uid;
  changed({ rerender: true });
  focusRow(copy.uid);
}

function moveLayer(from, to) {
  if (to < 0 || to >= state.layers.length || from === to) return;
  const [layer] = state.layers.splice(from, 1);
  state.layers.splice(to, 0, layer);
  changed({ rerender: true });
  focusRow(layer.uid);
}

function renameLayer(layer, newId) {
  const old = layer.id;
  layer.id = newId;
  for (const other of state.layers) {
    if (other.inputs) other.inputs = other.inputs.map((ref) => (ref === old ? newId : ref));
  }
}

function select(uid) {
  state.selected = state.selected === uid ? null : uid;
  renderLayers();
  showReport();
  if (state.selected) focusRow(uid);
}

function focusRow(uid) {
  const row = document.querySelector(`.layer-row[data-uid="${uid}"]`);
  if (row) row.focus();
}

// --- rendering ---------------------------------------------------------------------------

function renderPalette() {
  const palette = $("palette");
  palette.replaceChildren();
  const groups = new Map();
  for (const entry of state.catalog.values()) {
    if (!groups.has(entry.category)) groups.set(entry.category, []);
    groups.get(entry.category).push(entry);
  }
  // One folding group per category, its types as compact buttons that wrap; on a phone the
  // groups start folded (the search box still finds every type).
  const folded = window.matchMedia("(max-width: 720px)").matches;
  for (const [category, entries] of groups) {
    const headingId = `palette-${category}`;
    const group = el("details", { class: "palette-group", open: !folded });
    group.append(el("summary", { id: headingId }, `${CATEGORY_TITLES[category] || category} (${entries.length})`));
    const list = el("ul", { class: "palette-list", "aria-labelledby": headingId });
    for (const entry of entries) {
      const item = el("li");
      const button = el("button", { type: "button", class: "palette-item", "data-type": entry.type, title: entry.help, "aria-label": `Add ${entry.type} layer` }, entry.type);
      button.addEventListener("click", () => addLayer(entry.type));
      item.append(button);
      list.append(item);
    }
    group.append(list);
    palette.append(group);
  }
  filterPalette();
}

// The search box keeps the types whose name (or help) holds every word typed, and opens their groups.
function filterPalette() {
  const words = $("palette-search").value.toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const group of $("palette").querySelectorAll(".palette-group")) {
    let inGroup = 0;
    for (const button of group.querySelectorAll(".palette-item")) {
      const text = `${button.dataset.type} ${button.title}`.toLowerCase();
      const match = words.every((w) => text.includes(w));
      button.parentElement.hidden = !match;
      inGroup += match ? 1 : 0;
    }
    group.hidden = inGroup === 0;
    if (words.length && inGroup) group.open = true;
    shown += inGroup;
  }
  $("palette-none").hidden = shown > 0;
}

function iconButton(label, text, onClick) {
  const button = el("button", { type: "button", class: "icon", "aria-label": label, title: label }, text);
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    onClick();
  });
  return button;
}

function renderLayers() {
  const list = $("layer-list");
  list.replaceChildren();
  state.layers.forEach((layer, index) => {
    const entry = state.catalog.get(layer.type);
    const selected = layer.uid === state.selected;
    const row = el("li", { class: "layer-row" + (selected ? " selected" : ""), "data-uid": layer.uid, tabindex: "0", "aria-label": `Layer ${index + 1}: ${layer.type} ${layer.id}` });
    const main = el("div", { class: "row-main" });
    main.append(el("span", { class: "drag-handle", title: "Drag to reorder", "aria-hidden": "true" }, "⠿"));
    main.append(el("span", { class: "index" }, String(index + 1)));
    const toggle = el("button", { type: "button", class: "layer-toggle", "aria-expanded": selected ? "true" : "false" });
    toggle.append(el("span", { class: "layer-type" }, layer.type), el("span", { class: "layer-id" }, layer.id));
    toggle.addEventListener("click", () => select(layer.uid));
    main.append(toggle);
    main.append(selected || !entry ? el("span", { class: "summary" }, summary(layer)) : inlineParams(layer, entry));
    main.append(el("span", { class: "shape", "data-role": "shape" }, ""));
    main.append(el("span", { class: "count", "data-role": "count" }, ""));
    const buttons = el("span", { class: "row-buttons" });
    buttons.append(
      iconButton(`Move ${layer.id} up`, "↑", () => moveLayer(index, index - 1)),
      iconButton(`Move ${layer.id} down`, "↓", () => moveLayer(index, index + 1)),
      iconButton(`Copy ${layer.id} below`, "Copy", () => duplicateLayer(layer.uid)),
      iconButton(`Remove ${layer.id}`, "✕", () => removeLayer(layer.uid)),
    );
    main.append(buttons);
    row.append(main, el("ul", { class: "row-errors", "data-role": "errors" }));
    if (selected) row.append(layerForm(layer, index, entry));
    row.addEventListener("keydown", (event) => rowKeys(event, layer, index));
    list.append(row);
  });
  $("empty-hint").hidden = state.layers.length > 0;
}

// The row's first two key parameters as small controls (numbers and choices), the rest as
// text; an open row shows its full form instead. A change applies on Enter or on leaving.
function inlineParams(layer, entry) {
  const box = el("span", { class: "summary inline-params" });
  const properties = entry.json_schema.properties || {};
  const editable = KEY_PARAMS.filter((key) => {
    const property = properties[key];
    return property && (property.enum || property.type === "integer" || property.type === "number");
  }).slice(0, 2);
  for (const key of editable) {
    const property = properties[key];
    const id = `i-${layer.uid}-${key}`;
    const value = key in layer.params ? layer.params[key] : property.default;
    let control;
    if (property.enum) {
      control = el("select", { id });
      for (const option of property.enum) {
        const node = el("option", { value: option }, String(option));
        if (option === value) node.selected = true;
        control.append(node);
      }
    } else {
      control = el("input", { id, type: "number", step: property.type === "integer" ? "1" : "any", min: property.minimum, max: property.maximum });
      control.value = value === undefined || value === null ? "" : String(value);
    }
    control.addEventListener("change", () => {
      if (property.enum) layer.params[key] = control.value;
      else if (control.value.trim() === "") delete layer.params[key];
      else layer.params[key] = Number(control.value);
      changed({ rerender: true });
      document.getElementById(id)?.focus();
    });
    control.addEventListener("keydown", (event) => event.stopPropagation()); // not the row's keys
    const item = el("span", { class: "inline-param" });
    const label = el("label", { for: id }, key);
    label.append(el("span", { class: "visually-hidden" }, ` of ${layer.id}`));
    item.append(label, control);
    box.append(item);
  }
  const rest = summary({ params: Object.fromEntries(Object.entries(layer.params).filter(([k]) => !editable.includes(k))) });
  if (rest) box.append(el("span", { class: "inline-rest" }, rest));
  return box;
}

function rowKeys(event, layer, index) {
  if (event.target !== event.currentTarget) return; // keys typed inside the form are the form's
  if (event.altKey && event.key === "ArrowUp") moveLayer(index, index - 1);
  else if (event.altKey && event.key === "ArrowDown") moveLayer(index, index + 1);
  else if (event.key === "Delete" || event.key === "Backspace") removeLayer(layer.uid);
  else if (event.key === "Enter" || event.key === " ") select(layer.uid);
  else if (event.key === "ArrowUp" && index > 0) focusRow(state.layers[index - 1].uid);
  else if (event.key === "ArrowDown" && index < state.layers.length - 1) focusRow(state.layers[index + 1].uid);
  else return;
  event.preventDefault();
}

function layerForm(layer, index, entry) {
  const prefix = `f-${layer.uid}`;
  const form = el("div", { class: "layer-form", role: "group", "aria-label": `Settings of ${layer.id}` });
  if (entry) form.append(el("p", { class: "help layer-help" }, entry.help));
  // The id, used by other layers' inputs and in the generated code.
  const idField = el("div", { class: "field", "data-param": "id" });
  const idInput = el("input", { id: `${prefix}-id`, type: "text", spellcheck: "false", autocomplete: "off", "aria-describedby": `${prefix}-id-errors` });
  idInput.value = layer.id;
  idInput.addEventListener("change", () => {
    renameLayer(layer, idInput.value.trim());
    changed({ rerender: true });
    focusRow(layer.uid);
  });
  idField.append(el("label", { for: idInput.id }, "Layer id"), idInput, el("ul", { class: "field-errors", id: `${prefix}-id-errors` }));
  form.append(idField);
  form.append(inputsField(layer, index, entry, prefix));
  if (entry) {
    const { element } = buildParamsForm(entry.json_schema, layer.params, prefix, (name, value) => {
      if (value === undefined) delete layer.params[name];
      else layer.params[name] = value;
      const row = document.querySelector(`.layer-row[data-uid="${layer.uid}"] .summary`);
      if (row) row.textContent = summary(layer);
      changed();
    });
    form.append(element);
  }
  return form;
}

function inputsField(layer, index, entry, prefix) {
  const earlier = ["input", ...state.layers.slice(0, index).map((l) => l.id)];
  const current = effectiveInputs(index);
  const field = el("div", { class: "field", "data-param": "inputs" });
  const errors = el("ul", { class: "field-errors", id: `${prefix}-inputs-errors` });
  if (entry && entry.min_inputs > 1) {
    const set = el("fieldset", { class: "chips", "aria-describedby": errors.id });
    set.append(el("legend", {}, "Inputs to combine (pick two or more earlier layers)"));
    earlier.forEach((ref, i) => {
      const id = `${prefix}-in-${i}`;
      const chip = el("span", { class: "chip" });
      const box = el("input", { type: "checkbox", id, value: ref });
      box.checked = current.includes(ref);
      box.addEventListener("change", () => {
        const picked = [...set.querySelectorAll("input:checked")].map((b) => b.value);
        layer.inputs = picked.length ? picked : undefined;
        changed();
      });
      chip.append(box, el("label", { for: id }, ref === "input" ? "model input" : ref));
      set.append(chip);
    });
    field.append(set);
  } else {
    const id = `${prefix}-inputs`;
    const chooser = el("select", { id, "aria-describedby": errors.id });
    chooser.append(el("option", { value: "" }, index === 0 ? "the model input (default)" : "the layer above (default)"));
    for (const ref of earlier) {
      const option = el("option", { value: ref }, ref === "input" ? "the model input" : ref);
      if (layer.inputs && layer.inputs.length === 1 && layer.inputs[0] === ref) option.selected = true;
      chooser.append(option);
    }
    chooser.addEventListener("change", () => {
      layer.inputs = chooser.value ? [chooser.value] : undefined;
      changed();
    });
    field.append(el("label", { for: id }, "Reads from"), chooser);
  }
  field.append(errors);
  return field;
}

// --- validation and the report -----------------------------------------------------------

const validateSoon = debounce(validate, 300);

async function validate() {
  const seq = ++state.validateSeq;
  $("validation-state").textContent = "Checking…";
  const body = { spec: currentSpec() };
  if (state.dataset && state.dataset.ready) body.dataset = state.dataset.id; // also: does it fit the data?
  let report = null;
  let errors = [];
  try {
    report = await postJSON("/api/architectures/validate/", body);
  } catch (err) {
    if (err.status === 400 && Array.isArray(err.body.errors)) {
      report = err.body.report || null;
      errors = err.body.errors;
    } else {
      errors = [{ message: `The check failed: ${err.message}` }];
    }
  }
  if (seq !== state.validateSeq) return; // a newer edit is being checked
  state.report = report;
  state.errors = errors;
  $("validation-state").textContent = state.errors.length ? `${state.errors.length} problem${state.errors.length === 1 ? "" : "s"}` : "Valid";
  showReport();
  if (!state.errors.length) code.refresh(currentSpec());
  else code.stale("Fix the problems above to update the code; this is the last valid version.");
}

function errorIndex(error) {
  const match = /^layers\[(\d+)\]/.exec(error.path || "");
  if (match) return Number(match[1]);
  if (error.layer_id) return state.layers.findIndex((l) => l.id === error.layer_id);
  return -1;
}

function showReport() {
  const report = state.report;
  const shapes = new Map();
  const counts = new Map();
  for (const layer of report?.layers || []) {
    shapes.set(layer.id, layer.output_shape);
    counts.set(layer.id, layer.trainable_params + layer.non_trainable_params);
  }
  const perLayer = new Map();
  const general = [];
  const inputErrors = [];
  for (const error of state.errors) {
    const index = errorIndex(error);
    if (index >= 0 && index < state.layers.length) {
      const uid = state.layers[index].uid;
      if (!perLayer.has(uid)) perLayer.set(uid, []);
      perLayer.get(uid).push(error);
    } else if ((error.path || "").startsWith("input")) {
      inputErrors.push(error);
    } else {
      general.push(error);
    }
  }
  for (const row of document.querySelectorAll(".layer-row")) {
    const layer = state.layers.find((l) => l.uid === row.dataset.uid);
    const errors = perLayer.get(row.dataset.uid) || [];
    const shape = shapes.get(layer.id);
    row.querySelector('[data-role="shape"]').textContent = shape ? formatShape(shape) : "—";
    row.querySelector('[data-role="count"]').textContent = counts.has(layer.id) ? `${grouped(counts.get(layer.id))} params` : "";
    row.classList.toggle("has-error", errors.length > 0);
    const list = row.querySelector('[data-role="errors"]');
    list.replaceChildren(...errors.map((e) => el("li", {}, `⚠ ${e.message}`)));
    // Inside the open form: each message under its own field.
    for (const field of row.querySelectorAll(".layer-form .field")) {
      const param = field.dataset.param;
      const mine = errors.filter((e) => {
        if (param === "id") return (e.path || "").endsWith(".id");
        if (param === "inputs" && (e.path || "").endsWith(".inputs")) return true;
        // A nested parameter ("layer.params") belongs under its top-level field ("layer").
        return e.param === param || (e.param || "").startsWith(`${param}.`);
      });
      const target = field.querySelector(".field-errors");
      target.replaceChildren(...mine.map((e) => el("li", {}, e.message)));
      field.classList.toggle("invalid", mine.length > 0);
      const control = field.querySelector("input, select, textarea, fieldset");
      if (control) control.setAttribute("aria-invalid", mine.length ? "true" : "false");
    }
  }
  $("input-out").textContent = formatShape(state.meta.input.shape);
  $("input-errors").replaceChildren(...inputErrors.map((e) => el("li", {}, e.message)));
  $("input-shape").setAttribute("aria-invalid", inputErrors.length ? "true" : "false");
  const problems = $("problems");
  problems.replaceChildren(...general.map((e) => el("p", {}, `⚠ ${e.message}`)));
  problems.hidden = general.length === 0;
  if (report) {
    const total = report.total_params ?? report.trainable_params + report.non_trainable_params;
    $("total-params").textContent = grouped(total);
    $("total-trainable").textContent = grouped(report.trainable_params);
    $("total-memory").textContent = size(report.memory_estimate_bytes);
    $("total-batch").textContent = String(report.batch_size);
  }
  $("totals").hidden = !report;
  const notes = $("notes");
  notes.replaceChildren(...(report?.notes || []).map((n) => el("li", {}, n)));
  drawDiagram(
    $("diagram"),
    {
      inputShape: state.meta.input.shape,
      layers: state.layers.map((layer, index) => ({ uid: layer.uid, id: layer.id, type: layer.type, summary: summary(layer), inputs: effectiveInputs(index) })),
      shapes,
      bad: new Set(perLayer.keys()),
      selected: state.selected,
    },
    (uid) => {
      if (state.selected !== uid) select(uid);
      focusRow(uid);
    },
  );
}

// --- saving ------------------------------------------------------------------------------

function trainUrl() {
  // The builder's dataset comes along, so the train form starts with the data it was fitted to.
  const dataset = state.dataset ? `&dataset=${state.dataset.id}` : "";
  return `/jobs/new/?architecture=${state.archId}${dataset}`;
}

function showSaved() {
  const train = $("train");
  train.href = trainUrl();
  train.hidden = !state.archId;
  const sweep = $("sweep"); // the same architecture and dataset, with settings to vary
  sweep.href = trainUrl().replace("/jobs/new/", "/sweeps/new/");
  sweep.hidden = !state.archId;
  $("duplicate").hidden = !state.archId;
  $("delete-open").hidden = !state.archId;
  if (state.archId) $("delete-confirm").dataset.url = `/api/architectures/${state.archId}/`;
}

function clearDraft() {
  try {
    localStorage.removeItem(draftKey());
  } catch (err) {
    /* nothing to clear */
  }
}

async function save() {
  const name = $("arch-name").value.trim();
  if (!name) {
    $("save-state").textContent = "Give the architecture a name before saving.";
    $("arch-name").focus();
    return;
  }
  $("save-state").textContent = "Saving…";
  const body = { name, spec: currentSpec() };
  if (state.dataset) body.dataset = state.dataset.id; // remembered: reopening the architecture offers it
  const editsSaved = state.edits;
  let saved;
  try {
    saved = state.archId ? await request("PUT", `/api/architectures/${state.archId}/`, body) : await postJSON("/api/architectures/", body);
  } catch (err) {
    $("save-state").textContent = `Not saved: ${err.message}`;
    return;
  }
  const wasNew = !state.archId;
  const newer = state.edits !== editsSaved;
  clearDraft();
  state.archId = saved.id;
  state.dirty = newer;
  if (newer) storeDraft(); // under the saved architecture's key now
  if (wasNew) {
    const query = state.dataset ? `?dataset=${state.dataset.id}` : "";
    history.replaceState(null, "", `/architectures/${state.archId}/${query}`);
    root.dataset.architectureId = String(state.archId);
  }
  $("save-state").textContent = newer ? "Saved; newer changes are not saved yet" : `Saved at ${new Date().toLocaleTimeString()}`;
  document.title = `${saved.name} · Layerloom`;
  showSaved();
}

async function duplicate() {
  const body = { name: `${$("arch-name").value.trim() || "architecture"} (copy)`.slice(0, 120), spec: currentSpec() };
  if (state.dataset) body.dataset = state.dataset.id;
  let copy;
  try {
    copy = await postJSON("/api/architectures/", body);
  } catch (err) {
    $("save-state").textContent = `Not duplicated: ${err.message}`;
    return;
  }
  state.dirty = false; // the copy holds the edits
  const query = state.dataset ? `?dataset=${state.dataset.id}` : "";
  window.location.assign(`/architectures/${copy.id}/${query}`);
}

// --- starting points ---------------------------------------------------------------------

async function showStart(message) {
  $("start").hidden = false;
  $("workspace").hidden = true;
  $("save").hidden = true; // nothing to save until a starting point is chosen
  $("start-message").textContent = message || "";
  const url = state.dataset ? `/api/presets/?dataset=${state.dataset.id}` : "/api/presets/";
  let presets;
  try {
    presets = await getJSON(url);
  } catch (err) {
    $("preset-cards").replaceChildren();
    $("start-message").textContent = `Presets could not be loaded: ${err.message}`;
    return [];
  }
  const cards = $("preset-cards");
  cards.replaceChildren();
  for (const preset of presets) {
    const card = el("li", { class: "preset-card" });
    card.append(el("h3", {}, preset.name), el("p", {}, preset.description));
    card.append(el("p", { class: "muted" }, `${preset.spec.layers.length} layers · input ${formatShape(preset.spec.input.shape)}`));
    const button = el("button", { type: "button" }, `Start from ${preset.name}`);
    button.addEventListener("click", () => begin(preset.spec, preset.name));
    card.append(button);
    cards.append(card);
  }
  return presets;
}

function begin(spec, name) {
  loadSpec(spec);
  if (!$("arch-name").value.trim()) {
    $("arch-name").value = state.dataset ? `${name} for ${state.dataset.name}`.slice(0, 120) : name;
  }
  $("start").hidden = true;
  $("workspace").hidden = false;
  $("save").hidden = false;
  $("input-shape").value = state.meta.input.shape.join(", ");
  renderLayers();
  changed();
}

function emptySpec() {
  return { format: 1, name: "model", input: { shape: state.dataset ? state.dataset.input_shape : [4] }, layers: [] };
}

// JSON with sorted keys: PostgreSQL's jsonb does not keep the order the page wrote.
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function readDraft() {
  try {
    const raw = localStorage.getItem(draftKey());
    return raw ? JSON.parse(raw) : null;
  } catch (err) {
    return null;
  }
}

function restoreDraft(draft) {
  $("arch-name").value = draft.name || "";
  loadSpec(draft.spec);
  state.dirty = true;
  $("draft-time").textContent = new Date(draft.at).toLocaleString();
  $("draft-notice").hidden = false;
  $("save-state").textContent = "Unsaved changes";
}

async function start() {
  let layers;
  try {
    layers = await getJSON("/api/layers/");
  } catch (err) {
    $("start").hidden = false;
    $("start-message").textContent = `The layer types could not be loaded: ${err.message}`;
    return;
  }
  for (const entry of layers) state.catalog.set(entry.type, entry);
  renderPalette();
  $("palette-search").addEventListener("input", filterPalette);
  $("palette-search").addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault(); // Enter adds the first type that matches
    [...$("palette").querySelectorAll(".palette-item")].find((b) => !b.parentElement.hidden)?.click();
  });
  const draft = readDraft();
  if (state.archId) {
    let found;
    try {
      found = await getJSON(`/api/architectures/${state.archId}/`);
    } catch (err) {
      $("save-state").textContent = `The architecture could not be loaded: ${err.message}`;
      return;
    }
    const saved = { name: found.name, spec: found.spec };
    $("arch-name").value = saved.name;
    loadSpec(saved.spec);
    if (draft && canonical({ name: draft.name, spec: draft.spec }) !== canonical(saved)) restoreDraft(draft);
    showSaved();
  } else if (draft) {
    restoreDraft(draft);
  } else {
    const presets = await showStart();
    if (state.preset) {
      const chosen = presets.find((p) => p.key === state.preset);
      if (chosen) begin(chosen.spec, chosen.name);
      else $("start-message").textContent = `The preset "${state.preset}" does not suit this dataset; choose one below.`;
    }
    return;
  }
  $("workspace").hidden = false;
  $("input-shape").value = state.meta.input.shape.join(", ");
  renderLayers();
  validate();
}

// --- wiring ------------------------------------------------------------------------------

$("save").addEventListener("click", save);
$("duplicate").addEventListener("click", duplicate);
wireDelete({
  beforeLeaving: () => {
    clearDraft();
    state.dirty = false; // nothing left to lose
  },
});
$("start-empty").addEventListener("click", () => begin(emptySpec(), "Untitled"));
$("arch-name").addEventListener("input", () => changed());
$("discard-draft").addEventListener("click", () => {
  clearDraft();
  state.dirty = false;
  window.location.reload();
});
$("input-shape").addEventListener("input", () => {
  const text = $("input-shape").value.trim();
  state.meta.input.shape = /^\d+(\s*,\s*\d+)*$/.test(text) ? text.split(",").map((s) => Number(s.trim())) : text;
  changed();
});
window.addEventListener("beforeunload", (event) => {
  if (!state.dirty) return;
  event.preventDefault();
  event.returnValue = "";
});
if (typeof Sortable !== "undefined") {
  Sortable.create($("layer-list"), {
    handle: ".drag-handle",
    animation: 120,
    onEnd: (event) => {
      if (event.oldIndex === event.newIndex) return;
      // Put the DOM back and let the state drive the order (one source of truth).
      const [layer] = state.layers.splice(event.oldIndex, 1);
      state.layers.splice(event.newIndex, 0, layer);
      changed({ rerender: true });
    },
  });
}
start();
