// The shared pieces of the dashboard's secondary pages (Approvals, My audit trail): the REST
// calls with the session and CSRF header, and a socket on /ws/realtime/ that resumes from a
// cursor after a reconnect (with backoff). The main dashboard (dashboard.js) still has its
// own copy of the socket loop, written before these pages; the rules are the same
// (docs/dashboard.md, "How it stays live").

const PING_MS = 25000;
const MAX_BACKOFF_MS = 15000;

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]').content;
}

async function errorOf(response) {
  let detail = `The server answered ${response.status}.`;
  try {
    detail = (await response.json()).errors[0].detail || detail;
  } catch {
    // not our error shape: keep the status
  }
  const error = new Error(detail);
  error.status = response.status;
  return error;
}

export async function getJSON(path) {
  const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.redirected && new URL(response.url).pathname.startsWith("/login")) {
    window.location.assign(`/login/?next=${encodeURIComponent(window.location.pathname)}`);
    throw new Error("Signed out.");
  }
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

// Every page of a cursor-paginated list ({results, next}).
export async function getAll(path) {
  const rows = [];
  let url = path;
  while (url) {
    const page = await getJSON(url);
    rows.push(...page.results);
    url = page.next;
  }
  return rows;
}

export async function postJSON(path, body) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await errorOf(response);
  return response.status === 204 ? null : response.json();
}

export function hm(seconds) {
  const minutes = Math.max(0, Math.floor((seconds || 0) / 60));
  const h = Math.floor(minutes / 60);
  return h ? `${h}h ${String(minutes % 60).padStart(2, "0")}m` : `${minutes}m`;
}

// An element with text only: user text never goes through innerHTML.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setStatus(state, text) {
  const node = document.querySelector("[data-live-status]");
  if (!node) return;
  node.dataset.state = state;
  node.textContent = text;
}

// Calls onEvent(message) for each event of this company; onReset() when the page must re-read
// everything (no cursor to resume from, or the change log no longer has it).
export function connectLive({ cursor: initial, companyId, onEvent, onReset }) {
  let cursor = initial;
  let attempt = 0;
  let pinger = null;

  function handle(message) {
    if (message.type === "pong") return;
    if (message.type === "error") {
      if (message.code === "cursor_gone") {
        cursor = null;
        onReset();
      }
      return;
    }
    // sync.applied's cursor only says how far a batch reached: never resume from it.
    if (typeof message.cursor === "number" && message.type !== "sync.applied") {
      cursor = Math.max(cursor ?? 0, message.cursor);
    }
    if (message.company_id && message.company_id !== companyId) return;
    onEvent(message);
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${window.location.host}/ws/realtime/`);
    setStatus("connecting", attempt ? "Reconnecting…" : "Connecting…");
    socket.addEventListener("open", () => {
      attempt = 0;
      setStatus("live", "Live");
      if (cursor === null) onReset();
      else socket.send(JSON.stringify({ type: "resume", cursor }));
      pinger = setInterval(() => socket.send(JSON.stringify({ type: "ping" })), PING_MS);
    });
    socket.addEventListener("message", (event) => {
      try {
        handle(JSON.parse(event.data));
      } catch (error) {
        console.error("stint: bad realtime message", error);
      }
    });
    socket.addEventListener("close", (event) => {
      clearInterval(pinger);
      if (event.code === 4401) {
        setStatus("offline", "Signed out");
        window.location.assign(`/login/?next=${encodeURIComponent(window.location.pathname)}`);
        return;
      }
      if (event.code === 4403) {
        window.location.reload();
        return;
      }
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      setStatus("offline", "Offline, reconnecting…");
      setTimeout(connect, delay);
    });
  }

  connect();
}
