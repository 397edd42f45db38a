"""The timesheet workflow through the HTTP API (SPEC "Timesheets, locked periods and the audit
log"): submit, approve, reject, reopen, who may do each, the list, and what a locked week does
to its entries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import AuditEntry
from changelog import audience
from changelog.models import Change
from organizations.models import Company, Membership
from sync.selectors import visible_changes_q
from tracking import services as tracking
from tracking.models import TimeEntry, Timesheet, TimesheetStatus
from tracking.weeks import week_containing

pytestmark = pytest.mark.django_db


def _week(weeks_back: int = 1, tz: str = "UTC"):
    """A past week (Monday weeks, the world's default), ``weeks_back`` before the current one."""
    today = timezone.now().astimezone(UTC).date()
    return week_containing(today - timedelta(weeks=weeks_back), week_start="monday", timezone=tz)


def _membership(world, role: str) -> Membership:
    return Membership.objects.select_related("company", "user").get(company=world.a, user=world.users[role])


def _entry(world, role: str, start: datetime, hours: float = 1, billable: bool = True) -> TimeEntry:
    return tracking.entry_create(
        membership=_membership(world, role),
        data={
            "project_id": world.project_open.id,
            "started_at": start,
            "ended_at": start + timedelta(hours=hours),
            "billable": billable,
        },
    )


def _submit(world, role: str, period_start: date, user_id=None, **kwargs):
    body = {"period_start": period_start.isoformat()}
    if user_id is not None:
        body["user_id"] = str(user_id)
    return world.api(role).post("/api/v1/timesheets/submit", body, format="json", **kwargs)


def _error(response) -> dict:
    return response.json()["errors"][0]


def _submitted(world, role: str = "member", weeks_back: int = 1) -> Timesheet:
    """A SUBMITTED sheet of ``role``'s week (one hour tracked in it)."""
    week = _week(weeks_back)
    _entry(world, role, week.starts_at + timedelta(days=1, hours=9))
    sheet = tracking.timesheet_submit(
        actor_membership=_membership(world, role), user_id=world.users[role].id, period_start=week.period_start
    )
    return sheet


# --------------------------------------------------------------------------- submit


def test_a_member_submits_their_week_with_totals_clipped_to_it(world):
    week = _week()
    member = world.users["member"]
    _entry(world, "member", week.starts_at + timedelta(days=1, hours=9), hours=2)
    _entry(world, "member", week.starts_at + timedelta(days=2, hours=9), hours=1, billable=False)
    # Sunday 23:00 to Monday 01:00: one hour of it is this week's, one the next week's
    _entry(world, "member", week.ends_at - timedelta(hours=1), hours=2)
    # another week, and another member: not counted
    _entry(world, "member", week.starts_at - timedelta(days=2), hours=3)
    _entry(world, "loner", week.starts_at + timedelta(days=1, hours=9), hours=5)

    response = _submit(world, "member", week.period_start)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "SUBMITTED"
    assert body["user_id"] == str(member.id)
    assert body["user"] == {"id": str(member.id), "name": member.name, "email": member.email}
    assert body["period_start"] == week.period_start.isoformat()
    assert body["period_end"] == (week.period_start + timedelta(days=6)).isoformat()
    assert (body["total_seconds"], body["billable_seconds"]) == (4 * 3600, 3 * 3600)
    assert body["submitted_at"]
    assert body["decided_at"] is None
    assert body["decided_by"] is None
    sheet = Timesheet.objects.get(pk=body["id"])
    assert sheet.submitted_by == member
    assert (sheet.starts_at, sheet.ends_at) == (week.starts_at, week.ends_at)


def test_the_week_is_the_members_local_week(world):
    member = world.users["member"]
    member.timezone = "Pacific/Auckland"
    member.save(update_fields=["timezone"])
    week = _week(tz="Pacific/Auckland")
    # Monday 00:30 in Auckland is still Sunday in UTC: in the Auckland week, not the UTC one
    _entry(world, "member", week.starts_at + timedelta(minutes=30))

    response = _submit(world, "member", week.period_start)

    assert response.status_code == 201, response.content
    assert response.json()["total_seconds"] == 3600
    sheet = Timesheet.objects.get(pk=response.json()["id"])
    assert (sheet.timezone, sheet.starts_at) == ("Pacific/Auckland", week.starts_at)
    assert sheet.starts_at.astimezone(UTC).weekday() == 6  # Sunday, in UTC


def test_submit_refuses_a_day_that_does_not_start_a_week(world):
    week = _week()
    _entry(world, "member", week.starts_at + timedelta(hours=9))
    response = _submit(world, "member", week.period_start + timedelta(days=1))
    assert response.status_code == 400
    assert (_error(response)["attr"], _error(response)["code"]) == ("period_start", "not_week_start")


def test_week_start_follows_the_company(world):
    Company.objects.filter(pk=world.a.pk).update(week_start="sunday")
    sunday_week = week_containing(_week().period_start, week_start="sunday", timezone="UTC")
    _entry(world, "member", sunday_week.starts_at + timedelta(hours=9))
    assert _submit(world, "member", sunday_week.period_start + timedelta(days=1)).status_code == 400
    response = _submit(world, "member", sunday_week.period_start)
    assert response.status_code == 201, response.content
    assert date.fromisoformat(response.json()["period_start"]).weekday() == 6


def test_submit_refuses_a_future_and_an_empty_week(world):
    future = _week(weeks_back=-1)
    response = _submit(world, "member", future.period_start)
    assert response.status_code == 400
    assert (_error(response)["attr"], _error(response)["code"]) == ("period_start", "future_week")

    response = _submit(world, "member", _week().period_start)
    assert response.status_code == 400
    assert (_error(response)["attr"], _error(response)["code"]) == ("period_start", "empty_week")
    assert not Timesheet.objects.exists()


def test_submit_while_a_timer_of_the_week_runs_is_409_naming_it(world):
    week = _week(weeks_back=0)  # this week: a timer runs in it now
    running = tracking.timer_start(membership=_membership(world, "member"), project_id=world.project_open.id)

    response = _submit(world, "member", week.period_start)

    assert response.status_code == 409
    assert _error(response)["code"] == "timer_running"
    assert response.json()["running_entry_ids"] == [str(running.id)]
    assert not Timesheet.objects.exists()
    # once stopped, the week can be submitted and the timer is in its totals
    tracking.timer_stop(user=world.users["member"])
    assert _submit(world, "member", week.period_start).status_code == 201


def test_submitting_twice_is_409_and_a_rejected_week_can_be_submitted_again(world):
    sheet = _submitted(world)
    response = _submit(world, "member", sheet.period_start)
    assert response.status_code == 409
    assert _error(response)["code"] == "already_submitted"

    tracking.timesheet_reject(actor_membership=_membership(world, "manager"), timesheet=sheet, comment="Tuesday?")
    response = _submit(world, "member", sheet.period_start)
    assert response.status_code == 201, response.content
    assert response.json()["id"] == str(sheet.id)
    assert (response.json()["comment"], response.json()["decided_by"]) == ("", None)


def test_an_admin_submits_for_a_member_and_others_may_not(world):
    week = _week()
    member = world.users["member"]
    _entry(world, "member", week.starts_at + timedelta(hours=9))

    # a LEAD reads the member's data but may not submit for them: 403; a MEMBER who cannot
    # read them: 404; a MANAGER: 403
    assert _submit(world, "lead", week.period_start, user_id=member.id).status_code == 403
    assert _submit(world, "loner", week.period_start, user_id=member.id).status_code == 404
    assert _submit(world, "manager", week.period_start, user_id=member.id).status_code == 403

    response = _submit(world, "admin", week.period_start, user_id=member.id)
    assert response.status_code == 201, response.content
    sheet = Timesheet.objects.get(pk=response.json()["id"])
    assert (sheet.user, sheet.submitted_by) == (member, world.users["admin"])
    entry = AuditEntry.objects.get(action="timesheet.submitted")
    assert (entry.actor_id, entry.subject_user_id, entry.changes) == (
        world.users["admin"].id,
        member.id,
        {"status": ["OPEN", "SUBMITTED"]},
    )


def test_submitting_for_another_companys_user_is_404(world):
    week = _week()
    assert _submit(world, "owner", week.period_start, user_id=world.users["outsider"].id).status_code == 404
    assert _submit(world, "outsider", week.period_start, user_id=world.users["member"].id).status_code == 404


# --------------------------------------------------------------------------- decisions


def _post(world, role: str, sheet: Timesheet, verb: str, comment: str | None = None):
    body = {} if comment is None else {"comment": comment}
    return world.api(role).post(f"/api/v1/timesheets/{sheet.id}/{verb}", body, format="json")


@pytest.mark.parametrize("role", ["owner", "admin", "manager", "lead"])
def test_approvers_approve_a_submitted_sheet(world, role):
    sheet = _submitted(world)
    response = _post(world, role, sheet, "approve", "Thanks")
    assert response.status_code == 200, response.content
    body = response.json()
    approver = world.users[role]
    assert body["status"] == "APPROVED"
    assert body["decided_by"] == {"id": str(approver.id), "name": approver.name}
    assert body["decided_at"]
    assert body["comment"] == "Thanks"
    entry = AuditEntry.objects.get(action="timesheet.approved")
    assert (entry.target_type, entry.target_id, entry.actor_id, entry.subject_user_id) == (
        "timesheet",
        str(sheet.id),
        approver.id,
        world.users["member"].id,
    )
    assert entry.changes == {"status": ["SUBMITTED", "APPROVED"], "comment": ["", "Thanks"]}


def test_approving_twice_or_an_unsubmitted_sheet_is_409(world):
    sheet = _submitted(world)
    assert _post(world, "manager", sheet, "approve").status_code == 200
    response = _post(world, "admin", sheet, "approve")
    assert response.status_code == 409
    assert _error(response)["code"] == "not_submitted"
    assert _post(world, "admin", sheet, "reject", "late").status_code == 409
    assert Timesheet.objects.get(pk=sheet.pk).decided_by == world.users["manager"]


def test_nobody_decides_on_their_own_sheet(world):
    for role in ["owner", "manager", "lead", "member"]:
        sheet = _submitted(world, role)
        for verb in ["approve", "reject"]:
            response = _post(world, role, sheet, verb, "mine")
            assert response.status_code == 403, (role, verb)
            assert _error(response)["code"] == "own_timesheet"
        assert Timesheet.objects.get(pk=sheet.pk).status == TimesheetStatus.SUBMITTED


def test_a_member_cannot_decide_and_a_lead_only_for_their_team(world):
    mine = _submitted(world, "member")
    lonely = _submitted(world, "loner")
    # loner cannot read the member's data: the sheet does not exist for them
    assert _post(world, "loner", mine, "approve").status_code == 404
    # the member reads their own sheet but nobody else's
    assert _post(world, "member", lonely, "approve").status_code == 404
    # the lead reads and decides their team member's sheet, not a non-member's
    assert _post(world, "lead", lonely, "approve").status_code == 404
    assert _post(world, "lead", mine, "approve").status_code == 200
    assert Timesheet.objects.get(pk=lonely.pk).status == TimesheetStatus.SUBMITTED


def test_a_rejection_needs_a_reason_and_emails_the_member(world, django_capture_on_commit_callbacks):
    sheet = _submitted(world)
    response = _post(world, "lead", sheet, "reject")
    assert response.status_code == 400
    assert _error(response)["attr"] == "comment"
    assert _post(world, "lead", sheet, "reject", "   ").status_code == 400
    assert Timesheet.objects.get(pk=sheet.pk).status == TimesheetStatus.SUBMITTED

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(world, "lead", sheet, "reject", "Tuesday is missing the client call.")

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["comment"]) == (
        "REJECTED",
        "Tuesday is missing the client call.",
    )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [world.users["member"].email]
    assert "rejected" in message.subject
    assert "Tuesday is missing the client call." in message.body


def test_reopen_rules(world):
    sheet = _submitted(world)
    # managers and leads decide but do not reopen
    assert _post(world, "manager", sheet, "reopen").status_code == 403
    assert _post(world, "lead", sheet, "reopen").status_code == 403
    assert _post(world, "loner", sheet, "reopen").status_code == 404
    # the member takes back their own while it waits for a decision
    response = _post(world, "member", sheet, "reopen")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["id"]) == ("OPEN", str(sheet.id))
    assert _post(world, "member", sheet, "reopen").status_code == 409  # already open

    sheet = _submitted(world, weeks_back=2)
    _post(world, "manager", sheet, "approve")
    # approved: only an OWNER or ADMIN reopens it
    response = _post(world, "member", sheet, "reopen")
    assert response.status_code == 403
    response = _post(world, "admin", sheet, "reopen", "Client asked for a correction")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "OPEN"
    entry = AuditEntry.objects.filter(action="timesheet.reopened", target_id=str(sheet.id)).get()
    assert entry.changes == {"status": ["APPROVED", "OPEN"], "comment": ["", "Client asked for a correction"]}


def test_another_companys_sheet_is_404_for_every_verb(world):
    sheet = _submitted(world)
    for verb in ["approve", "reject", "reopen"]:
        assert _post(world, "outsider", sheet, verb, "x").status_code == 404
    response = world.api("owner").post(f"/api/v1/timesheets/{sheet.id}/approve?company={world.b.id}", {})
    assert response.status_code == 404
    assert Timesheet.objects.get(pk=sheet.pk).status == TimesheetStatus.SUBMITTED


# --------------------------------------------------------------------------- the lock


def test_a_submitted_week_refuses_entry_edits_until_reopened(world):
    week = _week()
    entry = _entry(world, "member", week.starts_at + timedelta(days=1, hours=9))
    sheet = tracking.timesheet_submit(
        actor_membership=_membership(world, "member"), user_id=world.users["member"].id, period_start=week.period_start
    )
    api = world.api("member")

    response = api.patch(f"/api/v1/time-entries/{entry.id}", {"description": "late fix"}, format="json")
    assert response.status_code == 409
    assert _error(response)["code"] == "period_locked"
    assert response.json()["locked_period"]["period_start"] == week.period_start.isoformat()
    created = api.post(
        "/api/v1/time-entries",
        {
            "project_id": str(world.project_open.id),
            "started_at": (week.starts_at + timedelta(days=3, hours=9)).isoformat(),
            "ended_at": (week.starts_at + timedelta(days=3, hours=10)).isoformat(),
        },
        format="json",
    )
    assert created.status_code == 409
    # even an admin (who edits others' entries) cannot
    admin = world.api("admin").patch(f"/api/v1/time-entries/{entry.id}", {"description": "x"}, format="json")
    assert admin.status_code == 409

    assert _post(world, "member", sheet, "reopen").status_code == 200
    response = api.patch(f"/api/v1/time-entries/{entry.id}", {"description": "late fix"}, format="json")
    assert response.status_code == 200, response.content


# --------------------------------------------------------------------------- events


def test_each_transition_is_an_event_for_the_member_and_their_approvers(world):
    sheet = _submitted(world)
    tracking.timesheet_reject(actor_membership=_membership(world, "lead"), timesheet=sheet, comment="why")
    sheet = tracking.timesheet_submit(
        actor_membership=_membership(world, "member"), user_id=sheet.user_id, period_start=sheet.period_start
    )
    tracking.timesheet_approve(actor_membership=_membership(world, "manager"), timesheet=sheet)
    tracking.timesheet_reopen(actor_membership=_membership(world, "owner"), timesheet=sheet)

    changes = list(Change.objects.filter(entity="timesheet").order_by("id"))
    assert [c.event for c in changes] == [
        "timesheet.submitted",
        "timesheet.rejected",
        "timesheet.submitted",
        "timesheet.approved",
        "timesheet.reopened",
    ]
    member = world.users["member"]
    for change in changes:
        assert (change.user_id, change.entity_id, change.company_id) == (member.id, sheet.id, world.a.id)
        assert change.payload["id"] == str(sheet.id)
    assert changes[1].payload["comment"] == "why"
    assert changes[3].payload["decided_by"]["id"] == str(world.users["manager"].id)

    # sockets: the member, the company's managers and the LEADs of the member's team
    groups = audience.groups_for(changes[:1])[changes[0].id]
    assert set(groups) == {
        audience.user_group(member.id),
        audience.company_managers_group(world.a.id),
        audience.team_leads_group(world.team.id),
    }
    # the change-log pull: the same people, not a MEMBER of another team, not another company
    for role, sees in [("member", True), ("lead", True), ("manager", True), ("loner", False)]:
        visible = Change.objects.filter(visible_changes_q(_membership(world, role)), entity="timesheet")
        assert visible.exists() == sees, role
    outsider = Membership.objects.get(company=world.b, user=world.users["outsider"])
    assert not Change.objects.filter(visible_changes_q(outsider), entity="timesheet").exists()


# --------------------------------------------------------------------------- the list


def test_the_list_shows_open_weeks_with_entries_and_submitted_ones(world):
    member, loner = world.users["member"], world.users["loner"]
    old = _week(2)
    last = _week(1)
    _entry(world, "member", old.starts_at + timedelta(days=1, hours=9), hours=2)
    _entry(world, "loner", last.starts_at + timedelta(days=1, hours=9), hours=1, billable=False)
    sheet = _submitted(world, "member", weeks_back=1)

    response = world.api("manager").get("/api/v1/timesheets")

    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    # newest week first, then by name ("Loner" before "Member")
    assert [(r["user_id"], r["period_start"], r["status"]) for r in rows] == [
        (str(loner.id), last.period_start.isoformat(), "OPEN"),
        (str(member.id), last.period_start.isoformat(), "SUBMITTED"),
        (str(member.id), old.period_start.isoformat(), "OPEN"),
    ]
    by_key = {(r["user_id"], r["period_start"]): r for r in rows}
    open_row = by_key[(str(member.id), old.period_start.isoformat())]
    assert open_row["id"] is None
    assert (open_row["total_seconds"], open_row["billable_seconds"]) == (7200, 7200)
    assert open_row["decided_by"] is None
    assert open_row["submitted_at"] is None
    loner_row = by_key[(str(loner.id), last.period_start.isoformat())]
    assert (loner_row["total_seconds"], loner_row["billable_seconds"]) == (3600, 0)
    assert loner_row["user"] == {"id": str(loner.id), "name": loner.name, "email": loner.email}
    assert by_key[(str(member.id), last.period_start.isoformat())]["id"] == str(sheet.id)


def test_the_list_orders_by_week_then_name(world):
    last = _week(1)
    for role in ["member", "loner", "admin"]:
        _entry(world, role, last.starts_at + timedelta(days=1, hours=9))
    _entry(world, "member", _week(2).starts_at + timedelta(hours=9))
    rows = world.api("owner").get("/api/v1/timesheets").json()["results"]
    names = {str(u.id): u.name for u in world.users.values()}
    assert [(r["period_start"], names[r["user_id"]]) for r in rows] == [
        (last.period_start.isoformat(), "Admin"),
        (last.period_start.isoformat(), "Loner"),
        (last.period_start.isoformat(), "Member"),
        (_week(2).period_start.isoformat(), "Member"),
    ]


def test_the_list_shows_each_caller_only_whom_they_read(world):
    last = _week(1)
    for role in ["member", "loner", "lead", "manager"]:
        _entry(world, role, last.starts_at + timedelta(days=1, hours=9))
    # another company's member, in their company
    outsider = Membership.objects.select_related("company", "user").get(company=world.b)
    tracking.entry_create(
        membership=outsider,
        data={
            "project_id": world.project_b.id,
            "started_at": last.starts_at + timedelta(hours=9),
            "ended_at": last.starts_at + timedelta(hours=10),
        },
    )
    ids = {role: str(u.id) for role, u in world.users.items()}

    def users(role: str, query: str = "") -> set[str]:
        response = world.api(role).get(f"/api/v1/timesheets{query}")
        assert response.status_code == 200, response.content
        return {r["user_id"] for r in response.json()["results"]}

    assert users("member") == {ids["member"]}
    assert users("loner") == {ids["loner"]}
    assert users("lead") == {ids["lead"], ids["member"]}
    assert users("manager") == {ids[r] for r in ["member", "loner", "lead", "manager"]}
    assert users("outsider") == {ids["outsider"]}
    # another company named: 404, never its rows
    assert world.api("member").get(f"/api/v1/timesheets?company={world.b.id}").status_code == 404
    # a user filter cannot reach past what the caller reads
    assert users("member", f"?user={ids['loner']}") == set()
    assert users("manager", f"?user={ids['loner']}") == {ids["loner"]}


def test_the_list_filters_by_status_and_range(world):
    sheet = _submitted(world, "member", weeks_back=1)
    _entry(world, "loner", _week(1).starts_at + timedelta(hours=9))
    _entry(world, "loner", _week(8).starts_at + timedelta(hours=9))
    api = world.api("owner")

    def rows(query: str) -> list[tuple[str, str]]:
        response = api.get(f"/api/v1/timesheets{query}")
        assert response.status_code == 200, response.content
        return [(r["user_id"], r["status"]) for r in response.json()["results"]]

    assert rows("?status=SUBMITTED") == [(str(sheet.user_id), "SUBMITTED")]
    assert rows("?status=OPEN") == [(str(world.users["loner"].id), "OPEN")]
    assert rows("?status=APPROVED") == []
    # the default is the last four weeks: week 8 back is out of it, in when asked for
    first = _week(8).period_start
    assert len(rows(f"?from={first}&status=OPEN")) == 2
    # a day in the middle of a week lists that week
    assert len(rows(f"?from={first + timedelta(days=3)}&to={first + timedelta(days=4)}")) == 1

    assert api.get(f"/api/v1/timesheets?from={first}&to={first + timedelta(days=367)}").status_code == 400
    assert api.get(f"/api/v1/timesheets?from={first}&to={first - timedelta(days=1)}").status_code == 400
    assert api.get("/api/v1/timesheets?status=DONE").status_code == 400


def test_the_list_pages_with_cursors(world):
    last = _week(1)
    for role in ["owner", "admin", "manager", "lead", "member", "loner"]:
        _entry(world, role, last.starts_at + timedelta(days=1, hours=9))
    api = world.api("owner")
    everything = [r["user_id"] for r in api.get("/api/v1/timesheets").json()["results"]]
    assert len(everything) == 6

    seen, url, pages = [], "/api/v1/timesheets?limit=4", []
    while url:
        page = api.get(url).json()
        pages.append(page)
        seen += [r["user_id"] for r in page["results"]]
        url = page["next"]
    assert seen == everything
    assert [len(p["results"]) for p in pages] == [4, 2]
    assert pages[0]["previous"] is None
    back = api.get(pages[1]["previous"]).json()
    assert [r["user_id"] for r in back["results"]] == everything[:4]
    assert api.get("/api/v1/timesheets?cursor=garbage").status_code == 404
    assert api.get("/api/v1/timesheets?limit=0").status_code == 400


def test_the_list_is_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    for weeks_back in range(1, 4):
        week = _week(weeks_back)
        for role in ["owner", "admin", "manager", "lead", "member", "loner"]:
            _entry(world, role, week.starts_at + timedelta(days=1, hours=9))
    sheet = tracking.timesheet_submit(
        actor_membership=_membership(world, "member"),
        user_id=world.users["member"].id,
        period_start=_week(1).period_start,
    )
    tracking.timesheet_approve(actor_membership=_membership(world, "manager"), timesheet=sheet)
    api = world.api("owner")
    api.get("/api/v1/timesheets")  # warm the session lookup paths
    with django_assert_max_num_queries(6):
        response = api.get("/api/v1/timesheets")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 18


def test_open_totals_in_the_list_match_what_a_submit_computes(world):
    """Entries across the week's edges count their part inside, from either side; a running
    timer counts up to now."""
    week = _week(1)
    _entry(world, "member", week.starts_at - timedelta(hours=2), hours=3)  # 1 h inside
    _entry(world, "member", week.starts_at + timedelta(days=2), hours=2, billable=False)
    _entry(world, "member", week.ends_at - timedelta(minutes=30), hours=2)  # 30 min inside, 90 after
    api = world.api("member")
    query = f"?from={week.period_start}&to={week.period_end + timedelta(days=7)}"

    rows = api.get(f"/api/v1/timesheets{query}").json()["results"]

    by_week = {r["period_start"]: r for r in rows}
    this = by_week[week.period_start.isoformat()]
    assert (this["id"], this["total_seconds"], this["billable_seconds"]) == (None, 12600, 5400)
    following = by_week[(week.period_start + timedelta(days=7)).isoformat()]
    assert following["total_seconds"] == 5400
    submitted = _submit(world, "member", week.period_start).json()
    assert (submitted["total_seconds"], submitted["billable_seconds"]) == (12600, 5400)
    # a running timer (this week, the following one) counts up to now, beside the 90 minutes
    now_week = _week(0)
    started = max(timezone.now() - timedelta(minutes=10), now_week.starts_at)
    tracking.timer_start(membership=_membership(world, "member"), project_id=world.project_open.id, started_at=started)
    rows = api.get("/api/v1/timesheets").json()["results"]
    row = next(r for r in rows if r["period_start"] == now_week.period_start.isoformat())
    expected = 5400 + (timezone.now() - started).total_seconds()
    assert expected - 60 <= row["total_seconds"] <= expected + 1
