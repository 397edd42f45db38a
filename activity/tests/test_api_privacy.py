"""/privacy-rules: OWNER and ADMIN manage their company's rules; nobody else sees them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import PASSWORD
from activity import services
from activity.models import PrivacyRule
from tests.support.admin import form_data
from tests.support.api import assert_error

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/privacy-rules"


def rule_body(**extra):
    return {"field": "title", "pattern": "(?i)payroll", "action": "drop", **extra}


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owner_and_admin_create_list_change_and_delete_rules(world, role):
    api = world.api(role)
    created = api.post(URL, rule_body(), format="json")
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["company_id"] == str(world.a.id)
    assert [r["id"] for r in api.get(URL).json()["results"]] == [rule["id"]]
    changed = api.patch(f"{URL}/{rule['id']}", {"action": "redact"}, format="json")
    assert changed.json()["action"] == "redact"
    assert api.delete(f"{URL}/{rule['id']}").status_code == 204
    assert not PrivacyRule.objects.exists()


@pytest.mark.parametrize("company", ["own", None])
def test_a_rule_created_with_a_company_id_in_the_body_is_made_there(world, company):
    # SPEC Conventions: a create may name its company in the body (null: the default one)
    body = rule_body(company_id=str(world.a.id) if company == "own" else None)
    created = world.api("owner").post(URL, body, format="json")
    assert created.status_code == 201, created.content
    assert PrivacyRule.objects.get().company_id == world.a.id


@pytest.mark.parametrize("role", ["manager", "lead", "member"])
def test_other_roles_neither_see_nor_make_rules(world, role):
    rule = services.privacy_rule_create(company=world.a, field="url", pattern="bank", action="drop")
    api = world.api(role)
    assert api.get(URL).json()["results"] == []
    assert_error(api.get(f"{URL}/{rule.id}"), 404)
    assert_error(api.post(URL, rule_body(), format="json"), 403)
    assert_error(api.delete(f"{URL}/{rule.id}"), 404)
    assert PrivacyRule.objects.count() == 1


def test_another_companys_rules_do_not_exist(world):
    theirs = services.privacy_rule_create(company=world.b, field="app", pattern="x", action="drop")
    owner = world.api("owner")
    assert owner.get(URL).json()["results"] == []
    assert_error(owner.get(f"{URL}/{theirs.id}"), 404)
    assert_error(owner.patch(f"{URL}/{theirs.id}", {"pattern": "y"}, format="json"), 404)
    assert_error(owner.delete(f"{URL}/{theirs.id}"), 404)
    assert_error(owner.post(f"{URL}?company={world.b.id}", rule_body(), format="json"), 404)
    assert PrivacyRule.objects.get(pk=theirs.pk).pattern == "x"


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        (rule_body(pattern="(unclosed"), "pattern"),
        (rule_body(pattern=""), "pattern"),
        (rule_body(pattern="x" * 501), "pattern"),
        # RE2 has no backtracking features: refused at creation, never run on a heartbeat
        (rule_body(pattern=r"(a)\1"), "pattern"),
        (rule_body(pattern="secret(?!ary)"), "pattern"),
        (rule_body(pattern="(?<=pay)roll"), "pattern"),
        (rule_body(field="body"), "field"),
        (rule_body(action="encrypt"), "action"),
    ],
)
def test_bad_rules_are_400_naming_the_field(world, body, attr):
    assert_error(world.api("owner").post(URL, body, format="json"), 400, attr=attr)
    assert not PrivacyRule.objects.exists()


def test_a_rule_cannot_be_changed_to_a_pattern_re2_refuses(world):
    rule = services.privacy_rule_create(company=world.a, field="title", pattern="payroll", action="drop")
    response = world.api("owner").patch(f"{URL}/{rule.id}", {"pattern": r"(pay)\1"}, format="json")
    assert_error(response, 400, attr="pattern")
    assert "RE2" in response.json()["errors"][0]["detail"]
    assert PrivacyRule.objects.get().pattern == "payroll"


def test_owner_manages_rules_in_the_admin_through_the_service(client, world):
    services.privacy_rule_create(company=world.b, field="app", pattern="Bravo-secret", action="drop")
    assert client.login(email=world.users["owner"].email, password=PASSWORD)
    add = reverse("admin:activity_privacyrule_add")
    data = form_data(client.get(add))
    data.update(field="title", pattern="Alpha-(unclosed", action="drop")
    assert "Not a valid regular expression" in client.post(add, data, follow=True).content.decode()
    data.update(pattern="Alpha-payroll")
    client.post(add, data, follow=True)
    assert PrivacyRule.objects.get(pattern="Alpha-payroll").company_id == world.a.id
    html = client.get(reverse("admin:activity_privacyrule_changelist")).content.decode()
    assert "Alpha-payroll" in html
    assert "Bravo-secret" not in html
