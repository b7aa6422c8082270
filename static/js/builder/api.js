// Calls to the REST API (JSON, or a FormData upload) with the session cookie and the page's CSRF token.

import { csrfToken } from "../pages/api.js";

// Resolves to {ok, status, body}; a network failure resolves with status 0 and a message,
// so callers show one kind of failure.
export async function api(method, url, body) {
  const options = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
  };
  if (body instanceof FormData) {
    options.body = body; // multipart: the browser writes the Content-Type with its boundary
  } else if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (err) {
    return { ok: false, status: 0, body: { message: `The server could not be reached (${err.message}).` } };
  }
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = { message: `The server answered ${response.status} without JSON.` };
  }
  return { ok: response.ok, status: response.status, body: data };
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
