// The API's errors shown on the form fields they name: an element
// <ul data-error-for="FIELD"> inside the field's [data-field] box gets the messages, and
// <p data-error-for=""> gets the ones that name no field on the form.

export function clearErrors(form) {
  for (const box of form.querySelectorAll("[data-error-for]")) {
    box.hidden = true;
    box.replaceChildren();
  }
  for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
}

// entries: [{field, message}]; rename maps an API field name to the form's (or keeps it).
export function showErrors(form, entries, rename = (name) => name) {
  const general = form.querySelector('[data-error-for=""]');
  let first = null;
  for (const entry of entries) {
    const name = entry.field ? rename(entry.field) : "";
    const box = name && form.querySelector(`ul[data-error-for="${CSS.escape(name)}"]`);
    if (box) {
      const item = document.createElement("li");
      item.textContent = entry.message;
      box.append(item);
      box.hidden = false;
      const field = box.closest("[data-field]");
      field.setAttribute("aria-invalid", "true");
      const folded = box.closest("details");
      if (folded) folded.open = true;
      first = first || field.querySelector("input, select");
    } else {
      general.textContent = [general.textContent, entry.field ? `${entry.field}: ${entry.message}` : entry.message]
        .filter(Boolean).join(" ");
      general.hidden = false;
    }
  }
  if (first) first.focus();
}
