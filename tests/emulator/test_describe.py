"""Global describe, sObject basic info and sObject describe, as each profile sees them."""

from __future__ import annotations

from typing import Any

import pytest

from leadsync.emulator.describe import TAP_FIELD_TYPES
from leadsync.emulator.org import Org
from leadsync.emulator.schema import Profile

from ..conftest import ApiClient

# Every property a real describe gives each field (reference §4; airbyte's bundled schema).
FIELD_PROPERTIES = {
    "name",
    "label",
    "type",
    "soapType",
    "length",
    "byteLength",
    "precision",
    "scale",
    "digits",
    "nillable",
    "createable",
    "updateable",
    "defaultedOnCreate",
    "defaultValue",
    "defaultValueFormula",
    "calculated",
    "calculatedFormula",
    "autoNumber",
    "unique",
    "externalId",
    "idLookup",
    "nameField",
    "caseSensitive",
    "custom",
    "encrypted",
    "filterable",
    "sortable",
    "groupable",
    "aggregatable",
    "permissionable",
    "restrictedPicklist",
    "picklistValues",
    "dependentPicklist",
    "controllerName",
    "referenceTo",
    "relationshipName",
    "relationshipOrder",
    "polymorphicForeignKey",
    "namePointing",
    "cascadeDelete",
    "restrictedDelete",
    "writeRequiresMasterRead",
    "compoundFieldName",
    "extraTypeInfo",
    "htmlFormatted",
    "inlineHelpText",
    "mask",
    "maskType",
    "deprecatedAndHidden",
    "displayLocationInDecimal",
    "highScaleNumber",
    "queryByDistance",
    "referenceTargetField",
    "searchPrefilterable",
    "filteredLookupInfo",
    "formulaTreatNullNumberAsZero",
    "aiPredictionField",
    "dataTranslationEnabled",
}
OBJECT_FLAGS = {
    "name",
    "label",
    "labelPlural",
    "keyPrefix",
    "custom",
    "customSetting",
    "createable",
    "updateable",
    "deletable",
    "undeletable",
    "queryable",
    "retrieveable",
    "replicateable",
    "searchable",
    "triggerable",
    "layoutable",
    "mergeable",
    "mruEnabled",
    "feedEnabled",
    "activateable",
    "deprecatedAndHidden",
    "hasSubtypes",
    "isSubtype",
    "isInterface",
    "associateEntityType",
    "associateParentEntity",
    "deepCloneable",
    "urls",
}


def fields_by_name(describe: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in describe["fields"]}


def test_lead_fields_carry_every_property_with_tap_types(sf: ApiClient) -> None:
    response = sf.get("sobjects/Lead/describe")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Lead" and body["keyPrefix"] == "00Q"
    assert body["fields"], "Lead has fields"
    for field in body["fields"]:
        assert set(field) >= FIELD_PROPERTIES, field["name"]
        assert field["type"] in TAP_FIELD_TYPES
        for value in field["picklistValues"]:
            assert set(value) == {"active", "defaultValue", "label", "validFor", "value"}


def test_lead_field_properties_match_the_schema(sf: ApiClient) -> None:
    fields = fields_by_name(sf.get("sobjects/Lead/describe").json())
    last_name = fields["LastName"]
    assert (last_name["type"], last_name["length"], last_name["byteLength"]) == ("string", 80, 240)
    assert last_name["nillable"] is False and last_name["createable"] is True
    assert fields["Id"]["soapType"] == "tns:ID" and fields["Id"]["idLookup"] is True
    assert fields["Id"]["createable"] is False and fields["Id"]["updateable"] is False
    assert fields["Email"]["type"] == "email" and fields["Email"]["idLookup"] is True
    assert fields["Address"]["soapType"] == "urn:address"
    assert fields["City"]["compoundFieldName"] == "Address"
    assert fields["SystemModstamp"]["soapType"] == "xsd:dateTime"
    assert fields["IsConverted"]["defaultValue"] is False
    assert fields["NumberOfEmployees"]["digits"] == 8
    assert fields["AnnualRevenue"]["precision"] == 18
    owner = fields["OwnerId"]
    assert owner["referenceTo"] == ["Group", "User"] and owner["relationshipName"] == "Owner"
    assert owner["polymorphicForeignKey"] is True
    ext = fields["LeadSync_Id__c"]
    assert ext["externalId"] is True and ext["idLookup"] is True and ext["custom"] is True
    status = fields["Status"]
    defaults = [v["value"] for v in status["picklistValues"] if v["defaultValue"]]
    assert defaults == ["Open - Not Contacted"]
    assert fields["Preferred_Language__c"]["restrictedPicklist"] is True
    assert fields["Description"]["sortable"] is False
    assert fields["Description"]["extraTypeInfo"] == "plaintextarea"


def test_field_level_security_hides_fields_from_the_sync_user(
    sf: ApiClient, sf_admin: ApiClient
) -> None:
    synced = fields_by_name(sf.get("sobjects/Lead/describe").json())
    admin = fields_by_name(sf_admin.get("sobjects/Lead/describe").json())
    assert "Internal_Notes__c" not in synced
    assert "Internal_Notes__c" in admin
    assert set(admin) - set(synced) == {"Internal_Notes__c"}


def test_read_only_fields_and_hidden_objects_follow_the_profile(org: Org, sf: ApiClient) -> None:
    user = org.find_user("sync@example.com")
    assert user is not None
    limited = Profile(
        "Limited",
        readonly_fields=frozenset({"lead.company"}),
        hidden_objects=frozenset({"campaign"}),
    )
    token = org.sessions.issue(user.id, user.username, limited, "leadsync").token
    client = ApiClient(sf.http, token)
    company = fields_by_name(client.get("sobjects/Lead/describe").json())["Company"]
    assert company["createable"] is False and company["updateable"] is False
    names = [o["name"] for o in client.get("sobjects").json()["sobjects"]]
    assert "Campaign" not in names and "Lead" in names
    for path in ("sobjects/Campaign", "sobjects/Campaign/describe"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()[0]["errorCode"] == "NOT_FOUND"
    members = client.get("sobjects/CampaignMember/describe").json()
    assert fields_by_name(members)["CampaignId"]["referenceTo"] == []


def test_global_describe_lists_objects_with_every_flag(sf: ApiClient) -> None:
    response = sf.get("sobjects/")
    assert response.status_code == 200
    body = response.json()
    assert body["encoding"] == "UTF-8" and body["maxBatchSize"] == 200
    entries = {o["name"]: o for o in body["sobjects"]}
    assert {"Lead", "Contact", "Account", "Product_Interest__c"} <= set(entries)
    for entry in entries.values():
        assert set(entry) >= OBJECT_FLAGS
        assert entry["queryable"] is True
    lead = entries["Lead"]
    assert lead["urls"]["describe"] == "/services/data/v62.0/sobjects/Lead/describe"
    assert lead["urls"]["rowTemplate"] == "/services/data/v62.0/sobjects/Lead/{ID}"
    assert entries["Product_Interest__c"]["custom"] is True
    assert entries["LeadStatus"]["createable"] is False


def test_urls_echo_the_requested_version(sf: ApiClient) -> None:
    body = sf.get("/services/data/v59.0/sobjects/Contact/describe").json()
    assert body["urls"]["sobject"] == "/services/data/v59.0/sobjects/Contact"
    entries = sf.get("/services/data/v61.0/sobjects").json()["sobjects"]
    assert all(e["urls"]["sobject"].startswith("/services/data/v61.0/") for e in entries)


def test_basic_info_and_case_insensitive_names(sf: ApiClient) -> None:
    response = sf.get("sobjects/lead/")
    assert response.status_code == 200
    body = response.json()
    assert body["objectDescribe"]["name"] == "Lead"
    assert body["recentItems"] == []
    assert sf.get("sobjects/LEAD/describe/").json()["name"] == "Lead"


def test_object_describe_has_relationships_and_record_types(sf: ApiClient) -> None:
    account = sf.get("sobjects/Account/describe").json()
    children = {
        (r["childSObject"], r["field"]): r["relationshipName"]
        for r in account["childRelationships"]
    }
    assert children[("Contact", "AccountId")] == "Contacts"
    assert children[("Opportunity", "AccountId")] == "Opportunities"
    assert children[("Account", "ParentId")] == "ChildAccounts"
    assert children[("Task", "WhatId")] == "Tasks"
    lead = sf.get("sobjects/Lead/describe").json()
    lead_children = {r["relationshipName"] for r in lead["childRelationships"]}
    assert {"CampaignMembers", "Tasks", "Product_Interests__r"} <= lead_children
    [record_type] = lead["recordTypeInfos"]
    assert record_type["master"] is True and record_type["recordTypeId"] == "012000000000000AAA"
    for key in (
        "supportedScopes",
        "namedLayoutInfos",
        "actionOverrides",
        "networkScopeFieldName",
        "urlDetail",
        "urlEdit",
        "urlNew",
        "customSetting",
    ):
        assert key in lead
    assert lead["customSetting"] is False


@pytest.mark.parametrize("path", ["sobjects/Nope__c", "sobjects/Nope__c/describe"])
def test_unknown_object_is_not_found(sf: ApiClient, path: str) -> None:
    response = sf.get(path)
    assert response.status_code == 404
    assert response.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND", "fields": []}
    ]


def test_if_modified_since_answers_304_when_unchanged(sf: ApiClient) -> None:
    assert sf.get("sobjects/Lead/describe").status_code == 200
    future = "Fri, 01 Jan 2100 00:00:00 GMT"
    response = sf.get("sobjects/Lead/describe", headers={"If-Modified-Since": future})
    assert response.status_code == 304
    past = "Thu, 01 Jan 1998 00:00:00 GMT"
    assert sf.get("sobjects", headers={"If-Modified-Since": past}).status_code == 200
    assert sf.get("sobjects", headers={"If-Modified-Since": "garbage"}).status_code == 200


def test_describe_is_cached_per_profile(sf: ApiClient, sf_admin: ApiClient, org: Org) -> None:
    first = sf.get("sobjects/Lead/describe").content
    assert sf.get("sobjects/Lead/describe").content == first
    assert sf_admin.get("sobjects/Lead/describe").content != first
    cache = org.extensions["describe.cache"]
    assert len([k for k in cache if k[0] == "object" and k[3] == "Lead"]) == 2
