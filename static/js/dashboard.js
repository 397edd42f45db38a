// The dashboard, live (SPEC: Web dashboard, Realtime). Panels are rendered by the server; this
// module keeps them current without a reload: it listens on /ws/realtime/ (the Django session
// signs the socket in), re-fetches the panels an event touches, resumes from the last cursor
// after a reconnect (with backoff), keeps running clocks ticking, and sends the timer and
// export buttons to the REST API (session + CSRF header). No inline script: CSP forbids it.

const root = document.getElementById("dashboard");

const ALL = ["now", "week", "team", "exports"];
// Which panels an event changes. Anything about time refreshes the board, the chart and the
// team table; an export only its own list.
const TIME = ["now", "week", "team"];
const PANELS_FOR = {
  "timer.started": TIME,
  "timer.stopped": TIME,
  "entry.upserted": TIME,
  "entry.deleted": TIME,
  "sync.applied": TIME,
  "project.upserted": ["now", "week"],
  "screenshot.ready": ["team"],
  "report.ready": ["exports"],
  // My timesheet (Week panel) and the Team panel's approval column.
  "timesheet.submitted": ["week", "team"],
  "timesheet.approved": ["week", "team"],
  "timesheet.rejected": ["week", "team"],
  "timesheet.reopened": ["week", "team"],
};
const PING_MS = 25000;
const MAX_BACKOFF_MS = 15000;

// --------------------------------------------------------------------------- formatting

const pad = (n) => String(n).padStart(2, "0");
function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}
function hm(seconds) {
  const minutes = Math.max(0, Math.floor(seconds / 60));
  const h = Math.floor(minutes / 60);
  return h ? `${h}h ${pad(minutes % 60)}m` : `${minutes}m`;
}

// --------------------------------------------------------------------------- panels

let serverOffsetMs = 0; // server clock minus ours, so a skewed laptop clock shows true timers

function panelRendered(section) {
  section.dataset.renderedAt = String(Date.now());
  const board = section.querySelector("[data-server-now]");
  if (board) serverOffsetMs = Date.parse(board.dataset.serverNow) - Date.now();
  applyPresence(section);
}

function tick() {
  const now = Date.now() + serverOffsetMs;
  for (const el of root.querySelectorAll("[data-started-at]")) {
    el.textContent = clock((now - Date.parse(el.dataset.startedAt)) / 1000);
  }
  for (const el of root.querySelectorAll('[data-testid="today-total"][data-running]')) {
    const rendered = Number(el.closest("[data-panel]").dataset.renderedAt);
    el.textContent = hm(Number(el.dataset.seconds) + (Date.now() - rendered) / 1000);
  }
}

// What someone was typing survives a refresh of the panel around it.
function formState(section) {
  const state = [];
  for (const field of section.querySelectorAll("form [name]")) {
    state.push([field.closest("form").className, field.name, field.value, field === document.activeElement]);
  }
  return state;
}
function restoreForm(section, state) {
  for (const [formClass, name, value, focused] of state) {
    const field = section.querySelector(`form[class="${formClass}"] [name="${name}"]`);
    if (!field) continue;
    if (field.tagName !== "SELECT" || [...field.options].some((o) => o.value === value)) field.value = value;
    if (focused) field.focus();
  }
}

async function loadPanel(name) {
  const section = root.querySelector(`[data-panel="${name}"]`);
  if (!section || section.hidden) return;
  const url = `${root.dataset.panelBase}${name}/?company=${encodeURIComponent(root.dataset.companyId)}`;
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  } catch {
    return; // offline: the socket's reconnect refreshes everything
  }
  if (response.redirected && new URL(response.url).pathname.startsWith("/login")) {
    window.location.assign("/login/?next=/dashboard/");
    return;
  }
  if (!response.ok) return;
  const html = await response.text();
  const state = formState(section);
  section.innerHTML = html;
  restoreForm(section, state);
  panelRendered(section);
  tick();
}

const queued = new Set();
let flushTimer = null;
// Events come in bursts (a sync batch): gather them for a moment, then fetch each panel once.
function refresh(names) {
  for (const name of names) queued.add(name);
  clearTimeout(flushTimer);
  flushTimer = setTimeout(() => {
    const names = [...queued];
    queued.clear();
    names.forEach(loadPanel);
  }, 100);
}

// --------------------------------------------------------------------------- presence

const online = new Map();
function applyPresence(scope) {
  for (const row of scope.querySelectorAll("[data-testid='member-row']")) {
    const state = online.get(row.dataset.userId);
    if (state !== undefined) row.dataset.online = state ? "yes" : "no";
  }
}

// --------------------------------------------------------------------------- the socket

let cursor = root && root.dataset.cursor !== "" ? Number(root.dataset.cursor) : null;
let attempt = 0;
let pinger = null;

function setStatus(state, text) {
  const el = document.querySelector("[data-live-status]");
  if (!el) return;
  el.dataset.state = state;
  el.textContent = text;
}

function handle(message) {
  if (message.type === "pong") return;
  if (message.type === "error") {
    if (message.code === "cursor_gone") {
      // Too far behind for the change log: start over from what the server renders now.
      cursor = null;
      refresh(ALL);
    }
    return;
  }
  // sync.applied's cursor only says how far a batch reached (its changes follow): never resume from it.
  if (typeof message.cursor === "number" && message.type !== "sync.applied") {
    cursor = Math.max(cursor ?? 0, message.cursor);
  }
  if (message.company_id && message.company_id !== root.dataset.companyId) return;
  if (message.type === "presence.changed") {
    online.set(message.data.user_id, message.data.online);
    applyPresence(root);
    return;
  }
  const panels = PANELS_FOR[message.type];
  if (panels) refresh(panels);
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/ws/realtime/`);
  setStatus("connecting", attempt ? "Reconnecting…" : "Connecting…");
  socket.addEventListener("open", () => {
    attempt = 0;
    setStatus("live", "Live");
    if (cursor === null) {
      refresh(ALL); // nothing to resume from: re-read every panel instead
    } else {
      socket.send(JSON.stringify({ type: "resume", cursor }));
    }
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
      window.location.assign("/login/?next=/dashboard/");
      return;
    }
    if (event.code === 4403) {
      window.location.reload(); // memberships changed: what this page may show changed too
      return;
    }
    // Exponential backoff with jitter, so a restarted server is not stampeded.
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt += 1;
    setStatus("offline", "Offline, reconnecting…");
    setTimeout(connect, delay);
  });
}

// --------------------------------------------------------------------------- buttons

async function post(path, body) {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = `The server answered ${response.status}.`;
    try {
      detail = (await response.json()).errors[0].detail || detail;
    } catch {
      // not our error shape: keep the status
    }
    throw new Error(detail);
  }
  return response.status === 204 ? null : response.json();
}

function showError(form, error) {
  const el = form.querySelector("[data-form-error]");
  if (!el) return;
  el.textContent = error ? error.message : "";
  el.hidden = !error;
}

async function submitting(form, action, panels) {
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  try {
    await action();
    showError(form, null);
    refresh(panels);
  } catch (error) {
    showError(form, error);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

function wireButtons() {
  const company = encodeURIComponent(root.dataset.companyId);
  root.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.matches("[data-timer-form]")) {
      event.preventDefault();
      const data = new FormData(form);
      const body = { project_id: data.get("project_id"), description: data.get("description") || "" };
      submitting(form, () => post("/api/v1/time-entries/start", body), TIME);
    } else if (form.matches("[data-export-form]")) {
      event.preventDefault();
      const data = new FormData(form);
      const body = { report: data.get("report"), format: data.get("format"), from: data.get("from"), to: data.get("to") };
      submitting(form, () => post(`/api/v1/reports/exports?company=${company}`, body), ["exports"]);
    }
  });
  root.addEventListener("click", (event) => {
    const stop = event.target.closest("[data-timer-stop]");
    if (stop) submitting(stop.closest("form"), () => post("/api/v1/time-entries/stop", {}), TIME);
    const pause = event.target.closest("[data-timer-pause]");
    if (pause) submitting(pause.closest("form"), () => post("/api/v1/time-entries/pause", {}), TIME);
    // The pause this page's company holds (one per user; a pause elsewhere is a 409 here).
    const resume = event.target.closest("[data-timer-resume]");
    if (resume) submitting(resume.closest("form"), () => post(`/api/v1/time-entries/resume?company=${company}`, {}), TIME);
    const submit = event.target.closest("[data-submit-week]");
    if (submit) {
      const body = { period_start: submit.dataset.submitWeek };
      submitting(submit.closest("li"), () => post(`/api/v1/timesheets/submit?company=${company}`, body), ["week", "team"]);
    }
  });
}

// --------------------------------------------------------------------------- start

if (root) {
  for (const section of root.querySelectorAll("[data-panel]")) panelRendered(section);
  tick();
  setInterval(tick, 1000);
  wireButtons();
  connect();
}
