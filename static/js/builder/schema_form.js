// A form for one layer's params, generated from the registry's JSON Schema: enums become
// selects, booleans checkboxes, numbers number fields with their bounds; anything else
// (an int-or-pair window, a list, a nested layer) a text field parsed leniently. The
// server's validator stays the judge: what the person typed is sent as typed.

import { grouped } from "../pages/format.js";

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(key, value === true ? "" : String(value));
  }
  if (text) node.textContent = text;
  return node;
}

export { el };

function bounds(schema) {
  const parts = [];
  if (schema.minimum !== undefined) parts.push(`at least ${grouped(schema.minimum)}`);
  if (schema.exclusiveMinimum !== undefined) parts.push(`more than ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined) parts.push(`at most ${grouped(schema.maximum)}`);
  if (schema.exclusiveMaximum !== undefined) parts.push(`less than ${schema.exclusiveMaximum}`);
  return parts.join(", ");
}

// The branch of an anyOf that is not null, for its bounds.
function mainBranch(schema) {
  if (!schema.anyOf) return schema;
  return schema.anyOf.find((branch) => branch.type && branch.type !== "null") || schema;
}

function kindOf(schema) {
  if (schema.enum) return "select";
  if (schema.type === "boolean") return "checkbox";
  if (schema.type === "integer" || schema.type === "number") return "number";
  if (schema.type === "array" || schema.anyOf) return "text";
  return "json";
}

export function shownValue(value) {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// "3" -> 3, "3, 3" -> [3, 3], "" -> undefined (the parameter is left out), JSON otherwise.
export function parseLoose(text, schema) {
  const t = text.trim();
  if (t === "") return undefined;
  if (/^-?\d+$/.test(t)) return schema.type === "array" ? [Number(t)] : Number(t);
  if (/^-?\d+(\s*,\s*-?\d+)+$/.test(t)) return t.split(",").map((s) => Number(s.trim()));
  if (t === "null") return null;
  try {
    return JSON.parse(t);
  } catch (err) {
    return t;
  }
}

function readField(kind, input, schema) {
  if (kind === "checkbox") return input.checked;
  if (kind === "select") return input.value;
  if (kind === "number") {
    if (input.value.trim() === "") return undefined;
    const n = Number(input.value);
    return Number.isFinite(n) ? n : input.value;
  }
  return parseLoose(input.value, schema);
}

// Returns {element, fields}: fields maps a parameter name to {input, errors} so the page can
// put the server's message for that parameter right under it.
export function buildParamsForm(schema, params, idPrefix, onChange) {
  const element = el("div", { class: "param-fields" });
  const fields = new Map();
  const required = new Set(schema.required || []);
  const properties = schema.properties || {};
  if (Object.keys(properties).length === 0) {
    element.append(el("p", { class: "muted" }, "This layer has no parameters."));
  }
  for (const [name, property] of Object.entries(properties)) {
    const kind = kindOf(property);
    const id = `${idPrefix}-${name}`;
    const helpId = `${id}-help`;
    const errorsId = `${id}-errors`;
    const wrapper = el("div", { class: `field field-${kind}`, "data-param": name });
    const label = el("label", { for: id }, property.title || name);
    label.append(el("code", { class: "param-name" }, name));
    let input;
    const value = name in params ? params[name] : property.default;
    if (kind === "select") {
      input = el("select", { id });
      for (const option of property.enum) {
        const node = el("option", { value: option }, String(option));
        if (option === value) node.selected = true;
        input.append(node);
      }
    } else if (kind === "checkbox") {
      input = el("input", { id, type: "checkbox" });
      input.checked = Boolean(value);
    } else if (kind === "number") {
      input = el("input", {
        id,
        type: "number",
        inputmode: property.type === "integer" ? "numeric" : "decimal",
        step: property.type === "integer" ? "1" : "any",
        min: property.minimum,
        max: property.maximum,
      });
      input.value = shownValue(value);
    } else if (kind === "text") {
      input = el("input", { id, type: "text", spellcheck: "false", autocomplete: "off" });
      input.value = shownValue(value);
    } else {
      input = el("textarea", { id, rows: "2", spellcheck: "false" });
      input.value = shownValue(value);
    }
    input.setAttribute("aria-describedby", `${helpId} ${errorsId}`);
    if (required.has(name)) input.required = true;
    const help = [property.description || ""];
    const limits = bounds(mainBranch(property));
    if (limits) help.push(`(${limits})`);
    if (!required.has(name) && property.default !== undefined) help.push(`Default: ${shownValue(property.default) || "none"}.`);
    const errors = el("ul", { class: "field-errors", id: errorsId });
    if (kind === "checkbox") {
      const row = el("div", { class: "checkbox-row" });
      row.append(input, label);
      wrapper.append(row);
    } else {
      wrapper.append(label, input);
    }
    wrapper.append(el("p", { class: "help", id: helpId }, help.join(" ")), errors);
    input.addEventListener(kind === "checkbox" || kind === "select" ? "change" : "input", () => {
      onChange(name, readField(kind, input, property));
    });
    fields.set(name, { input, errors, wrapper });
    element.append(wrapper);
  }
  return { element, fields };
}
