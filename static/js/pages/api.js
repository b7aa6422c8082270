// The browser speaks to the same JSON API as scripts, with the session cookie and CSRF header.
// One convention for every page: a call resolves to the answer's JSON body (null for 204) or
// throws an ApiError carrying the status (0 when the server could not be reached) and the body.

// Every signed-in page carries the token in its log-out form; the cookie is the fallback.
export function csrfToken() {
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (field) return field.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || (status ? `The server answered ${status}.` : "The server could not be reached."));
    this.status = status;
    this.body = body || {};
  }
}

// body: undefined, a FormData (a multipart upload; the browser writes its boundary) or JSON.
export async function request(method, url, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, credentials: "same-origin", body: payload });
  } catch (err) {
    throw new ApiError(0, { message: `The server could not be reached (${err.message}).` });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const getJSON = (url) => request("GET", url);
export const postJSON = (url, body) => request("POST", url, body);
