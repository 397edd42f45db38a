// My audit trail (docs/dashboard.md): GET /api/v1/audit-log?mine=true, newest first, a page at
// a time ("Older" follows the cursor). Rows are {id, at, actor: {id, name, email}|null, action,
// target_type, target_id, changes: {field: [before, after]}, ip, request_id}.

import { el, getJSON } from "./live.js";

const root = document.getElementById("audit");
const list = root && root.querySelector('[data-testid="audit-trail"]');
const more = root && root.querySelector("[data-audit-more]");

// What an action reads as; anything not listed shows its name (target.verb, readable).
const ACTIONS = {
  "time_entry.created": "added a time entry for you",
  "time_entry.updated": "changed your time entry",
  "time_entry.deleted": "deleted your time entry",
  "timesheet.submitted": "submitted your timesheet",
  "timesheet.approved": "approved your timesheet",
  "timesheet.rejected": "rejected your timesheet",
  "timesheet.reopened": "reopened your timesheet",
  "membership.role_changed": "changed your role",
  "membership.removed": "removed you from the company",
  "membership.added": "added you to the company",
  "team_member.added": "added you to a team",
  "team_member.removed": "removed you from a team",
  "personal_token.created": "created a token of yours",
  "personal_token.revoked": "revoked your token",
  "screenshot.viewed": "viewed your screenshot",
  "report_export.downloaded": "downloaded an export",
};

function readable(action) {
  return ACTIONS[action] || action.replace(/[._]/g, " ");
}

function value(v) {
  if (v === null || v === undefined || v === "") return "—";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function row(entry) {
  const actor = entry.actor ? entry.actor.name || entry.actor.email : "Stint";
  const changes = Object.entries(entry.changes || {});
  return el(
    "li",
    { "data-testid": "audit-row", "data-action": entry.action, "data-audit-id": entry.id },
    el("time", { datetime: entry.at }, new Date(entry.at).toLocaleString()),
    el("span", {}, el("strong", {}, actor), " ", readable(entry.action)),
    changes.length
      ? el(
          "ul",
          { class: "changes" },
          ...changes.map(([field, pair]) => {
            const [before, after] = Array.isArray(pair) ? pair : [undefined, pair];
            return el("li", {}, `${field.replace(/_/g, " ")}: ${value(before)} → ${value(after)}`);
          }),
        )
      : null,
  );
}

function pageError(message) {
  const node = root.querySelector("[data-page-error]");
  node.textContent = message || "";
  node.hidden = !message;
}

let next = null;
async function load(url, replace) {
  more.disabled = true;
  try {
    const page = await getJSON(url);
    const items = page.results.map(row);
    if (replace) list.replaceChildren(...items);
    else list.append(...items);
    if (replace && !items.length) {
      list.append(el("li", { class: "muted placeholder" }, "Nothing yet: nobody else has changed your data or opened your screenshots."));
    }
    next = page.next;
    more.hidden = !next;
    list.dataset.state = "ready";
    pageError(null);
  } catch (error) {
    pageError(`Could not read the audit trail: ${error.message}`);
    list.dataset.state = "error";
  } finally {
    more.disabled = false;
  }
}

if (root) {
  more.addEventListener("click", () => next && load(next, false));
  load(`/api/v1/audit-log?mine=true&company=${encodeURIComponent(root.dataset.companyId)}`, true);
}
