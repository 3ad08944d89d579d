// The API key, when the service wants one: asked for on the first 401, kept in this browser
// (localStorage) and sent as a Bearer token. Media the page shows are fetched with it too (an <img> cannot
// send a header), then shown from a blob URL.
const STORAGE = "hugginggpt-api-key";

export function authHeaders() {
  const key = localStorage.getItem(STORAGE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function askForKey(refused) {
  const why = refused ? "The service refused this API key." : "This service wants an API key.";
  const key = window.prompt(`${why} Paste the key its operator gave you:`);
  if (!key || !key.trim()) return false;
  localStorage.setItem(STORAGE, key.trim());
  return true;
}

/** fetch() with the key; on a 401 it asks for a key once and tries again. */
export async function apiFetch(url, options = {}) {
  const send = () => fetch(url, { ...options, headers: { ...(options.headers ?? {}), ...authHeaders() } });
  const response = await send();
  if (response.status !== 401 || !askForKey(Boolean(localStorage.getItem(STORAGE)))) return response;
  return send();
}

/** Sets a media element's src (or a link's href) to a same-origin URL, through the key when there is one. */
export function authorizedSource(node, attr, url) {
  if (!localStorage.getItem(STORAGE) || !url.startsWith("/")) {
    node.setAttribute(attr, url);
    return node;
  }
  fetch(url, { headers: authHeaders() })
    .then((response) => (response.ok ? response.blob() : null))
    .then((blob) => blob && node.setAttribute(attr, URL.createObjectURL(blob)));
  return node;
}
