"""The standard objects of the emulated org and their fields (a faithful subset)."""

from __future__ import annotations

from .ids import KEY_PREFIXES
from .schema import FieldDef, Schema, SObjectDef

LEAD_STATUSES = [
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
]
CONVERTED_LEAD_STATUS = "Closed - Converted"
LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
INDUSTRIES = [
    "Agriculture",
    "Banking",
    "Biotechnology",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Finance",
    "Healthcare",
    "Manufacturing",
    "Media",
    "Retail",
    "Technology",
    "Telecommunications",
    "Other",
]
SALUTATIONS = ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]
RATINGS = ["Hot", "Warm", "Cold"]
OPPORTUNITY_STAGES = [
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
]
CAMPAIGN_MEMBER_STATUSES = ["Sent", "Responded"]
GEOCODE_ACCURACY = ["Address", "NearAddress", "Block", "Street", "City", "Zip", "Unknown"]


def text(name: str, length: int, **kw: object) -> FieldDef:
    return FieldDef(name, "string", length=length, **kw)  # type: ignore[arg-type]


def textarea(name: str, length: int = 32000, **kw: object) -> FieldDef:
    return FieldDef(name, "textarea", length=length, **kw)  # type: ignore[arg-type]


def picklist(name: str, values: list[str], **kw: object) -> FieldDef:
    return FieldDef(name, "picklist", length=255, picklist_values=values, **kw)  # type: ignore[arg-type]


def ref(name: str, targets: list[str], relationship: str, **kw: object) -> FieldDef:
    return FieldDef(
        name,
        "reference",
        length=18,
        reference_to=targets,
        relationship_name=relationship,
        **kw,  # type: ignore[arg-type]
    )


def boolean(name: str, **kw: object) -> FieldDef:
    kw.setdefault("nillable", False)
    kw.setdefault("defaulted_on_create", True)
    kw.setdefault("default_value", False)
    return FieldDef(name, "boolean", **kw)  # type: ignore[arg-type]


def readonly(definition: FieldDef) -> FieldDef:
    definition.createable = False
    definition.updateable = False
    return definition


def system_fields(with_master: bool) -> list[FieldDef]:
    fields = [
        FieldDef(
            "Id",
            "id",
            length=18,
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
            label="Record ID",
        ),
        readonly(boolean("IsDeleted", label="Deleted")),
    ]
    if with_master:
        fields.append(readonly(ref("MasterRecordId", [], "MasterRecord")))
    fields += [
        readonly(FieldDef("CreatedDate", "datetime", nillable=False, defaulted_on_create=True)),
        readonly(
            ref("CreatedById", ["User"], "CreatedBy", nillable=False, defaulted_on_create=True)
        ),
        readonly(
            FieldDef("LastModifiedDate", "datetime", nillable=False, defaulted_on_create=True)
        ),
        readonly(
            ref(
                "LastModifiedById",
                ["User"],
                "LastModifiedBy",
                nillable=False,
                defaulted_on_create=True,
            )
        ),
        readonly(
            FieldDef(
                "SystemModstamp",
                "datetime",
                nillable=False,
                defaulted_on_create=True,
                label="System Modstamp",
            )
        ),
    ]
    return fields


def address(prefix: str) -> list[FieldDef]:
    compound = f"{prefix}Address"
    parts = [
        textarea(f"{prefix}Street", 255, compound_field_name=compound),
        text(f"{prefix}City", 40, compound_field_name=compound),
        text(f"{prefix}State", 80, compound_field_name=compound),
        text(f"{prefix}PostalCode", 20, compound_field_name=compound),
        text(f"{prefix}Country", 80, compound_field_name=compound),
        FieldDef(
            f"{prefix}Latitude", "double", precision=18, scale=15, compound_field_name=compound
        ),
        FieldDef(
            f"{prefix}Longitude", "double", precision=18, scale=15, compound_field_name=compound
        ),
        picklist(f"{prefix}GeocodeAccuracy", GEOCODE_ACCURACY, compound_field_name=compound),
    ]
    components = {
        "street": f"{prefix}Street",
        "city": f"{prefix}City",
        "state": f"{prefix}State",
        "postalCode": f"{prefix}PostalCode",
        "country": f"{prefix}Country",
        "latitude": f"{prefix}Latitude",
        "longitude": f"{prefix}Longitude",
        "geocodeAccuracy": f"{prefix}GeocodeAccuracy",
    }
    return [
        *parts,
        FieldDef(
            compound, "address", createable=False, updateable=False, compound_components=components
        ),
    ]


def person_name_fields() -> list[FieldDef]:
    return [
        picklist("Salutation", SALUTATIONS),
        text("FirstName", 40),
        text("LastName", 80, nillable=False),
        readonly(text("Name", 121, name_field=True, calculated=True)),
    ]


def obj(name: str, **kw: object) -> SObjectDef:
    return SObjectDef(name, KEY_PREFIXES[name], **kw)  # type: ignore[arg-type]


def owner(targets: list[str] | None = None) -> FieldDef:
    return ref("OwnerId", targets or ["User"], "Owner", nillable=False, defaulted_on_create=True)


def lead() -> SObjectDef:
    o = obj("Lead", mergeable=True)
    o.add(*system_fields(with_master=True))
    o.add(*person_name_fields())
    o.add(
        text("Title", 128),
        text("Company", 255, nillable=False),
        *address(""),
        FieldDef("Phone", "phone", length=40),
        FieldDef("MobilePhone", "phone", length=40),
        FieldDef("Email", "email", length=80),
        FieldDef("Website", "url", length=255),
        textarea("Description"),
        picklist("LeadSource", LEAD_SOURCES),
        picklist(
            "Status",
            LEAD_STATUSES,
            nillable=False,
            defaulted_on_create=True,
            default_value="Open - Not Contacted",
        ),
        picklist("Industry", INDUSTRIES),
        picklist("Rating", RATINGS),
        FieldDef("AnnualRevenue", "currency", precision=18, scale=0),
        FieldDef("NumberOfEmployees", "int", precision=8),
        owner(["Group", "User"]),
        boolean("HasOptedOutOfEmail", label="Email Opt Out"),
        boolean("DoNotCall"),
        readonly(boolean("IsConverted", label="Converted")),
        readonly(FieldDef("ConvertedDate", "date")),
        readonly(ref("ConvertedAccountId", ["Account"], "ConvertedAccount")),
        readonly(ref("ConvertedContactId", ["Contact"], "ConvertedContact")),
        readonly(ref("ConvertedOpportunityId", ["Opportunity"], "ConvertedOpportunity")),
        boolean("IsUnreadByOwner"),
        readonly(FieldDef("LastActivityDate", "date")),
    )
    o.fields["masterrecordid"].reference_to = ["Lead"]
    # The Address compound of Lead is called "Address", not "Address" with a prefix.
    return o


def contact() -> SObjectDef:
    o = obj("Contact", mergeable=True)
    o.add(*system_fields(with_master=True))
    o.add(ref("AccountId", ["Account"], "Account"))
    o.add(*person_name_fields())
    o.add(
        *address("Mailing"),
        FieldDef("Phone", "phone", length=40),
        FieldDef("MobilePhone", "phone", length=40),
        ref("ReportsToId", ["Contact"], "ReportsTo"),
        FieldDef("Email", "email", length=80),
        text("Title", 128),
        text("Department", 80),
        picklist("LeadSource", LEAD_SOURCES),
        FieldDef("Birthdate", "date"),
        textarea("Description"),
        owner(),
        boolean("HasOptedOutOfEmail", label="Email Opt Out"),
        boolean("DoNotCall"),
        readonly(FieldDef("LastActivityDate", "date")),
    )
    o.fields["masterrecordid"].reference_to = ["Contact"]
    return o


def account() -> SObjectDef:
    o = obj("Account", mergeable=True)
    o.add(*system_fields(with_master=True))
    o.add(
        text("Name", 255, nillable=False, name_field=True),
        picklist(
            "Type", ["Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"]
        ),
        ref("ParentId", ["Account"], "Parent"),
        *address("Billing"),
        *address("Shipping"),
        FieldDef("Phone", "phone", length=40),
        FieldDef("Website", "url", length=255),
        text("AccountNumber", 40),
        picklist("Industry", INDUSTRIES),
        FieldDef("AnnualRevenue", "currency", precision=18, scale=0),
        FieldDef("NumberOfEmployees", "int", precision=8, label="Employees"),
        picklist("Rating", RATINGS),
        textarea("Description"),
        owner(),
    )
    o.fields["masterrecordid"].reference_to = ["Account"]
    return o


def user() -> SObjectDef:
    o = obj("User", deletable=False)
    o.add(*system_fields(with_master=False))
    o.add(
        text("Username", 80, nillable=False, unique=True),
        text("FirstName", 40),
        text("LastName", 80, nillable=False),
        readonly(text("Name", 121, name_field=True, calculated=True)),
        FieldDef("Email", "email", length=128, nillable=False),
        text("Alias", 8),
        text("Title", 80),
        text("Department", 80),
        text("CompanyName", 80),
        FieldDef("Phone", "phone", length=40),
        FieldDef("MobilePhone", "phone", length=40),
        boolean("IsActive", default_value=True),
        ref("ProfileId", ["Profile"], "Profile", nillable=False),
        ref("ManagerId", ["User"], "Manager"),
        picklist(
            "UserType",
            ["Standard", "AutomatedProcess"],
            nillable=False,
            defaulted_on_create=True,
            default_value="Standard",
        ),
        text("TimeZoneSidKey", 40, defaulted_on_create=True, default_value="GMT"),
    )
    return o


def profile() -> SObjectDef:
    o = obj("Profile", createable=False, updateable=False, deletable=False)
    o.add(*system_fields(with_master=False))
    o.add(text("Name", 255, nillable=False, name_field=True))
    return o


def group() -> SObjectDef:
    o = obj("Group", label="Group")
    o.add(*system_fields(with_master=False))
    o.add(
        text("Name", 40, nillable=False, name_field=True),
        text("DeveloperName", 80),
        picklist("Type", ["Queue", "Regular"], nillable=False),
        FieldDef("Email", "email", length=255),
        text("QueueSobjects", 255, label="Queue Objects"),
    )
    return o


def opportunity() -> SObjectDef:
    o = obj("Opportunity", label_plural="Opportunities")
    o.add(*system_fields(with_master=False))
    o.add(
        ref("AccountId", ["Account"], "Account"),
        text("Name", 120, nillable=False, name_field=True),
        textarea("Description"),
        picklist("StageName", OPPORTUNITY_STAGES, nillable=False, label="Stage"),
        FieldDef("Amount", "currency", precision=18, scale=2),
        FieldDef("Probability", "percent", precision=3, scale=0),
        FieldDef("CloseDate", "date", nillable=False),
        picklist(
            "Type",
            ["New Customer", "Existing Customer - Upgrade", "Existing Customer - Replacement"],
        ),
        text("NextStep", 255),
        picklist("LeadSource", LEAD_SOURCES),
        readonly(boolean("IsClosed", label="Closed")),
        readonly(boolean("IsWon", label="Won")),
        boolean("IsPrivate", label="Private"),
        ref("CampaignId", ["Campaign"], "Campaign"),
        owner(),
    )
    return o


def opportunity_contact_role() -> SObjectDef:
    o = obj("OpportunityContactRole")
    o.add(*system_fields(with_master=False))
    o.add(
        ref("OpportunityId", ["Opportunity"], "Opportunity", nillable=False, updateable=False),
        ref("ContactId", ["Contact"], "Contact", nillable=False),
        picklist(
            "Role",
            [
                "Business User",
                "Decision Maker",
                "Economic Buyer",
                "Influencer",
                "Technical Buyer",
                "Other",
            ],
        ),
        boolean("IsPrimary", label="Primary"),
    )
    return o


def campaign() -> SObjectDef:
    o = obj("Campaign")
    o.add(*system_fields(with_master=False))
    o.add(
        text("Name", 80, nillable=False, name_field=True),
        ref("ParentId", ["Campaign"], "Parent"),
        picklist(
            "Type", ["Conference", "Webinar", "Trade Show", "Email", "Advertisement", "Other"]
        ),
        picklist("Status", ["Planned", "In Progress", "Completed", "Aborted"]),
        FieldDef("StartDate", "date"),
        FieldDef("EndDate", "date"),
        FieldDef("BudgetedCost", "currency", precision=18, scale=0),
        FieldDef("ActualCost", "currency", precision=18, scale=0),
        boolean("IsActive", label="Active"),
        textarea("Description"),
        owner(),
    )
    return o


def campaign_member() -> SObjectDef:
    o = obj("CampaignMember")
    o.add(*system_fields(with_master=False))
    o.add(
        ref("CampaignId", ["Campaign"], "Campaign", nillable=False, updateable=False),
        ref("LeadId", ["Lead"], "Lead", updateable=False),
        ref("ContactId", ["Contact"], "Contact", updateable=False),
        picklist(
            "Status", CAMPAIGN_MEMBER_STATUSES, defaulted_on_create=True, default_value="Sent"
        ),
        readonly(boolean("HasResponded", label="Responded")),
        readonly(FieldDef("FirstRespondedDate", "date")),
    )
    return o


def campaign_member_status() -> SObjectDef:
    o = obj("CampaignMemberStatus")
    o.add(*system_fields(with_master=False))
    o.add(
        ref("CampaignId", ["Campaign"], "Campaign", nillable=False, updateable=False),
        text("Label", 765, nillable=False),
        boolean("IsDefault"),
        boolean("HasResponded", label="Responded"),
        FieldDef("SortOrder", "int"),
    )
    return o


def organization() -> SObjectDef:
    """The org itself: one read-only row (simple-salesforce's `is_sandbox()` reads it)."""
    o = obj("Organization", createable=False, updateable=False, deletable=False)
    o.add(*system_fields(with_master=False))
    o.add(
        text("Name", 80, nillable=False, name_field=True),
        boolean("IsSandbox"),
        picklist("OrganizationType", ["Developer Edition", "Enterprise Edition"]),
        text("InstanceName", 5),
        text("TimeZoneSidKey", 40),
        text("LanguageLocaleKey", 40),
        text("DefaultLocaleSidKey", 40),
    )
    return o


def lead_status() -> SObjectDef:
    o = obj(
        "LeadStatus",
        label_plural="Lead Status Values",
        createable=False,
        updateable=False,
        deletable=False,
    )
    o.add(*system_fields(with_master=False))
    o.add(
        text("MasterLabel", 255, nillable=False),
        text("ApiName", 255),
        FieldDef("SortOrder", "int"),
        boolean("IsDefault"),
        boolean("IsConverted"),
    )
    return o


def _activity_common() -> list[FieldDef]:
    return [
        ref("WhoId", ["Contact", "Lead"], "Who"),
        ref("WhatId", ["Account", "Opportunity", "Campaign"], "What"),
        FieldDef("Subject", "combobox", length=255),
        FieldDef("ActivityDate", "date", label="Due Date Only"),
        textarea("Description"),
        owner(["User", "Group"]),
        picklist("Type", ["Call", "Email", "Meeting", "Other"]),
    ]


def task() -> SObjectDef:
    o = obj("Task")
    o.add(*system_fields(with_master=False))
    o.add(
        *_activity_common(),
        picklist(
            "Status",
            ["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"],
            nillable=False,
            defaulted_on_create=True,
            default_value="Not Started",
        ),
        picklist(
            "Priority",
            ["High", "Normal", "Low"],
            nillable=False,
            defaulted_on_create=True,
            default_value="Normal",
        ),
        readonly(boolean("IsClosed", label="Closed")),
        picklist("TaskSubtype", ["Task", "Email", "Call"]),
    )
    return o


def event() -> SObjectDef:
    o = obj("Event")
    o.add(*system_fields(with_master=False))
    o.add(
        *_activity_common(),
        FieldDef("ActivityDateTime", "datetime", label="Due Date Time"),
        FieldDef("StartDateTime", "datetime"),
        FieldDef("EndDateTime", "datetime"),
        FieldDef("DurationInMinutes", "int"),
        text("Location", 255),
        boolean("IsAllDayEvent", label="All-Day Event"),
    )
    return o


def standard_schema() -> Schema:
    schema = Schema()
    for build in (
        user,
        profile,
        group,
        account,
        contact,
        lead,
        opportunity,
        opportunity_contact_role,
        campaign,
        campaign_member,
        campaign_member_status,
        lead_status,
        organization,
        task,
        event,
    ):
        schema.add(build())
    return schema
