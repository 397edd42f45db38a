// The Approvals page (docs/dashboard.md): one week's timesheets of the members the viewer
// approves, read from GET /api/v1/timesheets, approved or rejected in place
// (POST /api/v1/timesheets/{id}/approve|reject), and re-read whenever a timesheet.* event (or
// a change of tracked time, which moves an OPEN week's total) arrives on the socket.

import { connectLive, el, getAll, hm, postJSON } from "./live.js";

const root = document.getElementById("approvals");
const board = root && root.querySelector('[data-testid="approvals-board"]');
const company = root && encodeURIComponent(root.dataset.companyId);
const me = root && root.dataset.userId;

const LABELS = { OPEN: "Not submitted", SUBMITTED: "Submitted", APPROVED: "Approved", REJECTED: "Rejected" };
const RELOAD_ON = new Set([
  "timesheet.submitted",
  "timesheet.approved",
  "timesheet.rejected",
  "timesheet.reopened",
  "timer.stopped",
  "entry.upserted",
  "entry.deleted",
  "sync.applied",
]);

let rows = [];
// Open reject forms survive a re-render (an event may arrive while someone types a reason).
const rejecting = new Map();
const errors = new Map();

const keyOf = (row) => `${row.user_id ?? row.user.id}:${row.period_start}`;

function pageError(message) {
  const node = root.querySelector("[data-page-error]");
  node.textContent = message || "";
  node.hidden = !message;
}

function nameOf(person) {
  if (!person) return "";
  if (typeof person === "string") return "";
  return person.name || person.email || "";
}

function statusCell(row) {
  const pill = el("span", { class: `pill status status-${row.status.toLowerCase()}` }, LABELS[row.status] || row.status);
  const cell = el("td", {}, pill);
  const who = nameOf(row.decided_by);
  if (row.status === "APPROVED" || row.status === "REJECTED") {
    const when = row.decided_at ? new Date(row.decided_at).toLocaleString() : "";
    const by = [who && `by ${who}`, when].filter(Boolean).join(", ");
    if (by) cell.append(el("div", { class: "muted small note" }, by));
  } else if (row.status === "SUBMITTED" && row.submitted_at) {
    cell.append(el("div", { class: "muted small note" }, `since ${new Date(row.submitted_at).toLocaleString()}`));
  }
  if (row.comment) cell.append(el("div", { class: "muted small note", "data-testid": "timesheet-comment" }, `“${row.comment}”`));
  return cell;
}

function actionsCell(row) {
  const cell = el("td", { class: "actions" });
  const key = keyOf(row);
  const mine = (row.user_id ?? row.user.id) === me;
  if (row.status === "SUBMITTED" && row.id && !mine) {
    cell.append(
      el("button", { type: "button", class: "button small primary", "data-testid": "approve", "data-approve": row.id }, "Approve"),
      el("button", { type: "button", class: "button small danger", "data-testid": "reject", "data-reject": key }, "Reject"),
    );
    if (rejecting.has(key)) {
      const form = el(
        "form",
        { class: "reject-form", "data-reject-form": row.id, "data-key": key },
        el("input", {
          name: "comment",
          maxlength: 2000,
          placeholder: "Why? The member sees this.",
          "aria-label": "Reason for rejecting",
          "data-testid": "reject-reason",
        }),
        el("button", { type: "submit", class: "button small danger", "data-testid": "reject-confirm" }, "Reject week"),
        el("button", { type: "button", class: "button small ghost", "data-reject-cancel": key }, "Cancel"),
      );
      form.querySelector("input").value = rejecting.get(key);
      cell.append(form);
    }
  } else if (mine && row.status === "SUBMITTED") {
    cell.append(el("span", { class: "muted small" }, "Yours: another approver decides"));
  }
  if (errors.has(key)) cell.append(el("p", { class: "form-error", "data-testid": "row-error" }, errors.get(key)));
  return cell;
}

function render() {
  const focused = document.activeElement && document.activeElement.closest("[data-reject-form]");
  const focusedKey = focused && focused.dataset.key;
  board.replaceChildren(
    ...rows.map((row) => {
      const user = row.user || {};
      return el(
        "tr",
        {
          "data-testid": "timesheet-row",
          "data-user-id": row.user_id ?? user.id,
          "data-status": row.status,
          "data-timesheet-id": row.id || "",
          "data-period-start": row.period_start,
        },
        el("th", { scope: "row" }, user.name || user.email, el("div", { class: "muted small" }, `${row.period_start} → ${row.period_end}`)),
        el("td", { class: "num", "data-testid": "timesheet-total", "data-seconds": row.total_seconds }, hm(row.total_seconds)),
        el("td", { class: "num" }, hm(row.billable_seconds)),
        statusCell(row),
        actionsCell(row),
      );
    }),
  );
  if (!rows.length) {
    board.append(el("tr", { class: "placeholder" }, el("td", { colspan: 5, class: "muted" }, "No timesheets this week: nobody you approve tracked time.")));
  }
  if (focusedKey) {
    const input = board.querySelector(`[data-reject-form][data-key="${CSS.escape(focusedKey)}"] input`);
    if (input) input.focus();
  }
}

function sortRows(found) {
  return found.sort((a, b) => {
    const an = (a.user && (a.user.name || a.user.email)) || "";
    const bn = (b.user && (b.user.name || b.user.email)) || "";
    return an.localeCompare(bn) || a.period_start.localeCompare(b.period_start);
  });
}

let loading = null;
let again = false;
// What the board last showed: a re-read that finds the same rows leaves the DOM alone, so an
// event that changes nothing here (our own decision's echo) cannot swap a button out from under
// a click in progress (a click needs its press and release on the same element).
let shown = null;
async function load() {
  if (loading) {
    again = true; // an event arrived mid-read: read once more when this one is done
    return loading;
  }
  const { from, to } = root.dataset;
  loading = (async () => {
    try {
      rows = sortRows(await getAll(`/api/v1/timesheets?company=${company}&from=${from}&to=${to}`));
      pageError(null);
      const seen = JSON.stringify([rows, [...errors]]);
      if (seen !== shown) render();
      shown = seen;
      board.dataset.state = "ready";
    } catch (error) {
      pageError(`Could not read the timesheets: ${error.message}`);
      board.dataset.state = "error";
    } finally {
      loading = null;
    }
    if (again) {
      again = false;
      await load();
    }
  })();
  return loading;
}

let timer = null;
function reloadSoon() {
  clearTimeout(timer);
  timer = setTimeout(load, 100); // a burst of events costs one read
}

async function decide(button, path, body, key) {
  const buttons = button.closest("td").querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  try {
    await postJSON(path, body);
    errors.delete(key);
    rejecting.delete(key);
  } catch (error) {
    errors.set(key, error.message);
  }
  shown = null; // redraw whatever the answer: it re-enables the buttons disabled above
  await load(); // the answer is ours to show now; the socket's event re-reads it for everyone else
}

function wire() {
  board.addEventListener("click", (event) => {
    const approve = event.target.closest("[data-approve]");
    if (approve) {
      const key = keyOf(rows.find((r) => r.id === approve.dataset.approve));
      decide(approve, `/api/v1/timesheets/${approve.dataset.approve}/approve?company=${company}`, {}, key);
      return;
    }
    const reject = event.target.closest("[data-reject]");
    if (reject) {
      rejecting.set(reject.dataset.reject, rejecting.get(reject.dataset.reject) || "");
      render();
      board.querySelector(`[data-reject-form][data-key="${CSS.escape(reject.dataset.reject)}"] input`).focus();
      return;
    }
    const cancel = event.target.closest("[data-reject-cancel]");
    if (cancel) {
      rejecting.delete(cancel.dataset.rejectCancel);
      errors.delete(cancel.dataset.rejectCancel);
      render();
    }
  });
  board.addEventListener("input", (event) => {
    const form = event.target.closest("[data-reject-form]");
    if (form) rejecting.set(form.dataset.key, event.target.value);
  });
  board.addEventListener("submit", (event) => {
    const form = event.target.closest("[data-reject-form]");
    if (!form) return;
    event.preventDefault();
    const comment = form.querySelector("input").value.trim();
    if (!comment) {
      errors.set(form.dataset.key, "Say why: the member reads the reason.");
      render();
      return;
    }
    decide(form.querySelector("button"), `/api/v1/timesheets/${form.dataset.rejectForm}/reject?company=${company}`, { comment }, form.dataset.key);
  });
}

if (root) {
  wire();
  load();
  const cursor = root.dataset.cursor !== "" ? Number(root.dataset.cursor) : null;
  connectLive({
    cursor,
    companyId: root.dataset.companyId,
    onEvent: (message) => {
      if (RELOAD_ON.has(message.type)) reloadSoon();
    },
    onReset: reloadSoon,
  });
}
