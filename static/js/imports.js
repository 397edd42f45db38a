// The Import page (docs/imports.md, docs/dashboard.md): the chosen file goes to
// POST /api/v1/imports as a dry run first; its summary (what would be created, duplicates, the
// first error rows) shows when import.finished arrives on the socket; "Import" sends the same
// file for real and the progress bar follows import.progress. A GET of the job covers an event
// that arrived before the POST answered (the socket's events are kept by job id).

import { connectLive, csrfToken, el, getJSON } from "./live.js";

const root = document.getElementById("imports");
const form = root && root.querySelector("[data-import-form]");
const box = root && root.querySelector('[data-testid="import-job"]');
const pageError = root && root.querySelector("[data-page-error]");
const FINISHED = new Set(["READY", "FAILED", "CANCELLED"]);
const ERRORS_SHOWN = 50;

const seen = new Map(); // job id -> its latest state from the socket
let current = null; // {id, dryRun}
let chosen = null; // the form's values, kept for the confirm

function showError(message) {
  pageError.textContent = message;
  pageError.hidden = !message;
}

async function send(values, dryRun) {
  const body = new FormData();
  body.append("file", values.file);
  body.append("source", values.source);
  body.append("dry_run", dryRun ? "true" : "false");
  if (values.timezone) body.append("timezone", values.timezone);
  if (values.inviteUnknown) body.append("invite_unknown", "true");
  const response = await fetch(`/api/v1/imports?company=${root.dataset.companyId}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    body,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((data.errors && data.errors[0] && data.errors[0].detail) || `The server answered ${response.status}.`);
  return data;
}

function counts(summary) {
  const created = summary.created || {};
  const items = [
    ["entries", created.entries],
    ["projects", created.projects],
    ["clients", created.clients],
    ["tasks", created.tasks],
  ].map(([name, n]) => el("li", { "data-testid": `import-created-${name}` }, `${n || 0} ${name}`));
  if (created.members !== undefined) {
    items.push(el("li", { "data-testid": "import-created-members" }, `${created.members} people invited`));
  }
  // The activity sources' counts (ActivityWatch events, WakaTime heartbeats), when they have any.
  for (const [name, label] of [["app_usage", "app usage events"], ["coding_heartbeats", "coding heartbeats"]]) {
    if (created[name]) items.push(el("li", { "data-testid": `import-created-${name}` }, `${created[name]} ${label}`));
  }
  items.push(el("li", { "data-testid": "import-duplicates" }, `${summary.duplicates || 0} already imported`));
  items.push(el("li", { "data-testid": "import-error-count" }, `${summary.error_count || 0} rows with problems`));
  return items;
}

function render(job) {
  if (!current || job.id !== current.id) return;
  box.hidden = false;
  box.dataset.state = job.status.toLowerCase();
  box.querySelector("[data-job-title]").textContent = job.dry_run ? "Preview (nothing written)" : "Import";
  box.querySelector("[data-job-status]").textContent = job.status + (job.error ? `: ${job.error}` : "");
  const progress = box.querySelector("[data-job-progress]");
  const { done, total } = job.progress || { done: 0, total: null };
  progress.max = Math.max(1, total || done || 1);
  progress.value = FINISHED.has(job.status) ? progress.max : done;
  box.querySelector("[data-job-cancel]").hidden = FINISHED.has(job.status);
  if (!job.summary) return;
  box.querySelector("[data-job-summary]").replaceChildren(...counts(job.summary));
  const table = box.querySelector('[data-testid="import-errors"]');
  const rows = (job.summary.errors || []).slice(0, ERRORS_SHOWN);
  table.hidden = rows.length === 0;
  box.querySelector("[data-job-errors]").replaceChildren(
    ...rows.map((e) =>
      el("tr", { "data-testid": "import-error-row", "data-row": e.row }, el("td", {}, e.row), el("td", {}, e.field), el("td", {}, e.detail)),
    ),
  );
  box.querySelector("[data-job-confirm]").hidden = !(job.dry_run && job.status === "READY");
}

async function start(dryRun) {
  showError("");
  try {
    const job = await send(chosen, dryRun);
    current = { id: job.id, dryRun };
    render(job);
    const early = seen.get(job.id);
    if (early) render(early);
    // The finished event may have been sent before we knew the id: read the job once more.
    const fresh = await getJSON(`/api/v1/imports/${job.id}`);
    if (!seen.has(job.id) || FINISHED.has(fresh.status)) render(fresh);
  } catch (error) {
    showError(error.message);
  }
}

if (form) {
  const zone = form.querySelector('[name="timezone"]');
  try {
    zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    // no Intl time zone: the server takes the user's
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = form.querySelector('[name="file"]').files[0];
    if (!file) return;
    const invite = form.querySelector('[name="invite_unknown"]');
    chosen = {
      file,
      source: form.querySelector('[name="source"]').value,
      timezone: zone.value.trim(),
      inviteUnknown: Boolean(invite && invite.checked),
    };
    start(true);
  });
  box.querySelector("[data-job-confirm]").addEventListener("click", () => chosen && start(false));
  box.querySelector("[data-job-cancel]").addEventListener("click", async () => {
    if (!current) return;
    try {
      const response = await fetch(`/api/v1/imports/${current.id}/cancel`, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      });
      if (response.ok) render(await response.json());
    } catch (error) {
      showError(error.message);
    }
  });
  connectLive({
    cursor: root.dataset.cursor ? Number(root.dataset.cursor) : null,
    companyId: root.dataset.companyId,
    onEvent(message) {
      if (message.type !== "import.progress" && message.type !== "import.finished") return;
      const previous = seen.get(message.data.id);
      // A progress event never replaces the summary a finished one brought.
      if (previous && FINISHED.has(previous.status) && message.type === "import.progress") return;
      seen.set(message.data.id, message.data);
      render(message.data);
    },
    onReset() {
      if (current) getJSON(`/api/v1/imports/${current.id}`).then(render, () => {});
    },
  });
}
