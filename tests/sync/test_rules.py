"""Field rules: defaults, leadsync.toml overrides, config errors and conflict settlement."""

from __future__ import annotations

import datetime as dt

import pytest

from leadsync.errors import ConfigError
from leadsync.sync.rules import FieldRules, Rule, settle

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(minutes=1)


def test_defaults_follow_marketo() -> None:
    rules = FieldRules()
    assert rules.rule("Lead", "title") is Rule.MARKETING_WINS
    assert rules.rule("Lead", "company") is Rule.MARKETING_WINS  # a lead's own company
    assert rules.rule("Contact", "title") is Rule.SALESFORCE_WINS
    assert rules.rule("Contact", "industry") is Rule.SALESFORCE_ONLY  # the account's
    assert rules.rule("Lead", "leadOwnerEmail") is Rule.SALESFORCE_ONLY
    for obj in ("Account", "User", "Opportunity", "Product_Interest__c"):
        assert rules.rule(obj, "anything") is Rule.SALESFORCE_ONLY


def test_config_overrides_by_object_then_field_then_object_field() -> None:
    rules = FieldRules.from_config(
        {
            "lead": "most-recent",
            "contact": "marketing-wins",
            "fields": {"title": "dont-sync", "Custom__c": "leadsync-only"},
            "Lead": {"title": "salesforce-wins", "phone": "prefer-salesforce-unless-blank"},
        }
    )
    assert rules.rule("Lead", "email") is Rule.MOST_RECENT
    assert rules.rule("Contact", "email") is Rule.MARKETING_WINS
    assert rules.rule("Contact", "title") is Rule.DONT_SYNC
    assert rules.rule("Lead", "title") is Rule.SALESFORCE_WINS
    assert rules.rule("Lead", "phone") is Rule.PREFER_SALESFORCE
    assert rules.rule("Contact", "Custom__c") is Rule.LEADSYNC_ONLY
    assert rules.rule("Contact", "industry") is Rule.SALESFORCE_ONLY  # never overridable


def test_every_bad_key_and_value_is_listed_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        FieldRules.from_config(
            {
                "lead": "loudest-wins",
                "account": "marketing-wins",
                "fields": {"title": "nope", "sfdcId": "marketing-wins", "bad name": "dont-sync"},
                "Contact": "salesforce-wins",
            }
        )
    text = str(caught.value)
    for needed in (
        "rules.lead",
        "loudest-wins",
        "rules.account",
        "rules.fields.title",
        "rules.fields.sfdcId",
        "rules.fields.bad name",
        "rules.Contact",
    ):
        assert needed in text


def test_rules_say_which_way_they_flow() -> None:
    assert [r for r in Rule if not r.pushes] == [Rule.SALESFORCE_ONLY, Rule.DONT_SYNC]
    assert [r for r in Rule if not r.pulls] == [Rule.LEADSYNC_ONLY, Rule.DONT_SYNC]


@pytest.mark.parametrize(
    ("rule", "local", "remote", "local_at", "remote_at", "winner"),
    [
        (Rule.MARKETING_WINS, "a", "b", T0, T1, "leadsync"),
        (Rule.SALESFORCE_WINS, "a", "b", T1, T0, "salesforce"),
        (Rule.MOST_RECENT, "a", "b", T1, T0, "leadsync"),
        (Rule.MOST_RECENT, "a", "b", T0, T1, "salesforce"),
        (Rule.MOST_RECENT, "a", "b", None, T1, "salesforce"),
        (Rule.MOST_RECENT, "a", "b", T0, T0, "salesforce"),  # a tie: Salesforce
        (Rule.PREFER_SALESFORCE, "a", "b", T1, T0, "salesforce"),
        (Rule.PREFER_SALESFORCE, "a", None, T0, T1, "leadsync"),
        (Rule.PREFER_SALESFORCE, "a", "  ", T0, T1, "leadsync"),
        (Rule.PREFER_SALESFORCE, None, None, T0, T1, "salesforce"),
        (Rule.SALESFORCE_ONLY, "a", "b", T1, T0, "salesforce"),
    ],
)
def test_settle(
    rule: Rule,
    local: str | None,
    remote: str | None,
    local_at: dt.datetime | None,
    remote_at: dt.datetime,
    winner: str,
) -> None:
    assert settle(rule, "base", local, remote, local_at, remote_at) == winner
