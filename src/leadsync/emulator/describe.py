"""Describe metadata as one caller's profile sees it: global describe and per-object describe.

Field-level security shapes the answer: a hidden field is absent, a hidden object is absent from
global describe and unknown on its own paths, and a read-only field reports createable and
updateable false. Clients describe hard (airbyte fires 100 object describes at once, tap batches
25), so each answer is built once per (profile, version, object) and kept with its JSON bytes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from .errors import not_found
from .schema import SOAP_TYPES, TEXT_TYPES, FieldDef, Profile, SObjectDef

if TYPE_CHECKING:
    from .org import Org

# Every type tap-salesforce accepts (it aborts discovery on anything else).
TAP_FIELD_TYPES = frozenset(
    {
        "id",
        "string",
        "picklist",
        "textarea",
        "phone",
        "url",
        "reference",
        "multipicklist",
        "combobox",
        "encryptedstring",
        "email",
        "complexvalue",
        "masterrecord",
        "datacategorygroupreference",
        "double",
        "currency",
        "percent",
        "int",
        "long",
        "datetime",
        "date",
        "time",
        "boolean",
        "base64",
        "byte",
        "address",
        "location",
        "anyType",
        "calculated",
        "json",
    }
)
_PICKLIST_TYPES = frozenset({"picklist", "multipicklist", "combobox"})
_NUMERIC_DECIMAL = frozenset({"double", "currency", "percent"})
_NOT_GROUPABLE = frozenset(
    {
        "double",
        "currency",
        "percent",
        "datetime",
        "textarea",
        "multipicklist",
        "address",
        "location",
        "base64",
        "encryptedstring",
        "time",
        "anyType",
        "json",
    }
)
_NOT_AGGREGATABLE = frozenset(
    {
        "boolean",
        "multipicklist",
        "address",
        "location",
        "base64",
        "encryptedstring",
        "anyType",
        "json",
    }
)
_COMPOUND = frozenset({"address", "location"})
_LOOKUP_NAMES = frozenset({"id", "email", "name", "username"})
# Children whose rows go when the parent goes.
_CASCADE_CHILDREN = frozenset({"CampaignMember", "CampaignMemberStatus", "OpportunityContactRole"})
_MASTER_RECORD_TYPE = "012000000000000AAA"


@dataclass(frozen=True)
class Described:
    """A describe answer as a dict (for composite sub-requests) and as JSON bytes."""

    data: dict[str, Any]
    body: bytes
    built_at: int


# -- fields -----------------------------------------------------------------------------------


def _lengths(definition: FieldDef) -> tuple[int, int]:
    """(length, byteLength): characters for text and ids, bytes as three per character."""
    kind = definition.type
    if kind in ("id", "reference"):
        return 18, 18
    if kind in TEXT_TYPES:
        return definition.length, definition.length * 3
    return 0, 0


def _numbers(definition: FieldDef) -> tuple[int, int, int]:
    """(precision, scale, digits): decimals carry precision/scale, integers digits."""
    kind = definition.type
    if kind in _NUMERIC_DECIMAL:
        return definition.precision or 18, definition.scale, 0
    if kind == "int":
        return 0, 0, definition.precision or 9
    if kind == "long":
        return 0, 0, definition.precision or 18
    return 0, 0, 0


def _long_text(definition: FieldDef) -> bool:
    return definition.type == "textarea" and definition.length > 255


def _picklist_values(definition: FieldDef) -> list[dict[str, Any]]:
    if definition.type not in _PICKLIST_TYPES:
        return []
    return [
        {
            "active": True,
            "defaultValue": value == definition.default_value,
            "label": value,
            "validFor": None,
            "value": value,
        }
        for value in definition.picklist_values
    ]


def _extra_type_info(definition: FieldDef) -> str | None:
    if definition.type == "textarea":
        return "plaintextarea"
    if definition.name == "Name" and definition.calculated:
        return "personname"
    return None


def _id_lookup(definition: FieldDef) -> bool:
    if definition.external_id or (definition.unique and definition.is_text):
        return True
    return definition.name.lower() in _LOOKUP_NAMES and definition.type != "textarea"


def field_describe(obj: SObjectDef, definition: FieldDef, profile: Profile) -> dict[str, Any]:
    """One entry of `fields[]`, with every property a real describe carries."""
    kind = definition.type
    length, byte_length = _lengths(definition)
    precision, scale, digits = _numbers(definition)
    editable = profile.can_edit(obj.name, definition.name) and not definition.calculated
    long_text = _long_text(definition)
    compound = kind in _COMPOUND
    references = [t for t in definition.reference_to if profile.can_see_object(t)]
    polymorphic = len(definition.reference_to) > 1
    return {
        "aggregatable": kind not in _NOT_AGGREGATABLE and not long_text,
        "aiPredictionField": False,
        "autoNumber": False,
        "byteLength": byte_length,
        "calculated": definition.calculated,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": definition.compound_field_name,
        "controllerName": None,
        "createable": definition.createable and editable,
        "custom": definition.custom,
        "dataTranslationEnabled": False if kind in TEXT_TYPES else None,
        "defaultValue": bool(definition.default_value) if kind == "boolean" else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": definition.defaulted_on_create,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": digits,
        "displayLocationInDecimal": False,
        "encrypted": kind == "encryptedstring",
        "externalId": definition.external_id,
        "extraTypeInfo": _extra_type_info(definition),
        "filterable": not long_text and not compound,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": kind not in _NOT_GROUPABLE,
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": _id_lookup(definition),
        "inlineHelpText": None,
        "label": definition.label,
        "length": length,
        "mask": None,
        "maskType": None,
        "name": definition.name,
        "nameField": definition.name_field,
        "namePointing": polymorphic,
        "nillable": definition.nillable,
        "permissionable": definition.nillable
        and not definition.calculated
        and kind != "id"
        and (definition.createable or definition.updateable),
        "picklistValues": _picklist_values(definition),
        "polymorphicForeignKey": polymorphic,
        "precision": precision,
        "queryByDistance": kind == "location",
        "referenceTargetField": None,
        "referenceTo": references,
        "relationshipName": definition.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": definition.restricted_picklist,
        "scale": scale,
        "searchPrefilterable": kind == "reference",
        "soapType": SOAP_TYPES.get(kind, "xsd:string"),
        "sortable": not long_text and not compound and kind not in ("multipicklist", "base64"),
        "type": kind,
        "unique": definition.unique,
        "updateable": definition.updateable and editable,
        "writeRequiresMasterRead": False,
    }


# -- child relationships ---------------------------------------------------------------------


def child_relationship_name(parent: str, child: SObjectDef, definition: FieldDef) -> str | None:
    """The name a parent uses for its children through `definition` (`Contacts`, ...).

    System lookups (audit fields, owners, conversion and merge pointers) have none, as on a
    real org; custom lookups get the child's plural label in `__r` form.
    """
    if not definition.createable and not definition.updateable:
        return None
    if definition.name == "OwnerId":
        return None
    plural = "".join(child.label_plural.split())
    if definition.custom or child.custom:
        return "_".join(child.label_plural.split()) + "__r"
    if child.name == parent:
        return "Child" + plural if definition.name == "ParentId" else None
    return plural


def child_relationships(org: Org, obj: SObjectDef, profile: Profile) -> list[dict[str, Any]]:
    seen: set[str] = set()
    found = []
    for child, definition in org.schema.child_relationships(obj.name):
        if not profile.can_see(child.name, definition.name):
            continue
        name = child_relationship_name(obj.name, child, definition)
        if name is not None:
            if name in seen:
                name = None
            else:
                seen.add(name)
        found.append(
            {
                "cascadeDelete": child.name in _CASCADE_CHILDREN,
                "childSObject": child.name,
                "deprecatedAndHidden": False,
                "field": definition.name,
                "junctionIdListNames": [],
                "junctionReferenceTo": [],
                "relationshipName": name,
                "restrictedDelete": False,
            }
        )
    return found


# -- objects ----------------------------------------------------------------------------------


def _urls(obj: SObjectDef, base: str) -> dict[str, str]:
    root = f"{base}/sobjects/{obj.name}"
    return {
        "compactLayouts": f"{root}/describe/compactLayouts",
        "rowTemplate": f"{root}/{{ID}}",
        "approvalLayouts": f"{root}/describe/approvalLayouts",
        "defaultValues": f"{root}/defaultValues?recordTypeId&fields",
        "listviews": f"{root}/listviews",
        "describe": f"{root}/describe",
        "quickActions": f"{root}/quickActions",
        "layouts": f"{root}/describe/layouts",
        "sobject": root,
    }


def global_entry(obj: SObjectDef, version: str) -> dict[str, Any]:
    """An object's flags, as in global describe and in basic info's `objectDescribe`."""
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": obj.createable,
        "custom": obj.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": obj.deletable,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "layoutable": True,
        "mergeable": obj.mergeable,
        "mruEnabled": True,
        "name": obj.name,
        "queryable": obj.queryable,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": obj.deletable,
        "updateable": obj.updateable,
        "urls": _urls(obj, f"/services/data/v{version}"),
    }


def _object_describe(org: Org, obj: SObjectDef, profile: Profile, version: str) -> dict[str, Any]:
    base = f"/services/data/v{version}"
    entry = global_entry(obj, version)
    ui = org.instance_url
    entry["urls"] = {
        **entry["urls"],
        "uiDetailTemplate": f"{ui}/{{ID}}",
        "uiEditTemplate": f"{ui}/{{ID}}/e",
        "uiNewRecord": f"{ui}/{obj.key_prefix}/e",
    }
    fields = [
        field_describe(obj, d, profile)
        for d in obj.fields.values()
        if profile.can_see(obj.name, d.name)
    ]
    plural = obj.label_plural
    return {
        **entry,
        "actionOverrides": [],
        "childRelationships": child_relationships(org, obj, profile),
        "compactLayoutable": True,
        "dataTranslationEnabled": False,
        "defaultImplementation": None,
        "extendedBy": None,
        "extendsInterfaces": None,
        "fields": fields,
        "implementedBy": None,
        "implementsInterfaces": None,
        "listviewable": None,
        "lookupLayoutable": None,
        "namedLayoutInfos": [],
        "networkScopeFieldName": None,
        "recordTypeInfos": [
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": _MASTER_RECORD_TYPE,
                "urls": {
                    "layout": f"{base}/sobjects/{obj.name}/describe/layouts/{_MASTER_RECORD_TYPE}"
                },
            }
        ],
        "searchLayoutable": True,
        "sobjectDescribeOption": "FULL",
        "supportedScopes": [
            {"label": f"All {plural.lower()}", "name": "everything"},
            {"label": f"My {plural.lower()}", "name": "mine"},
            {"label": "My team's " + plural.lower(), "name": "team"},
        ],
        "urlDetail": f"{ui}/{{ID}}",
        "urlEdit": f"{ui}/{{ID}}/e",
        "urlNew": f"{ui}/{obj.key_prefix}/e",
    }


# -- cache and entry points -------------------------------------------------------------------

_LOCK = threading.Lock()


def _cached(org: Org, key: tuple[Any, ...], build: Any) -> Described:
    cache: dict[tuple[Any, ...], Described] = org.extensions.setdefault("describe.cache", {})
    found = cache.get(key)
    if found is None:
        data = build()
        found = Described(data, orjson.dumps(data), org.clock.now())
        with _LOCK:
            found = cache.setdefault(key, found)
    return found


def _schema_stamp(org: Org) -> tuple[int, int]:
    """Changes when objects or fields are added, so cached answers are rebuilt."""
    schema = org.schema
    return len(schema.objects), sum(len(o.fields) for o in schema)


def visible_object(org: Org, profile: Profile, name: str) -> SObjectDef:
    """The object named (any case) if this profile may see it, else 404 NOT_FOUND."""
    obj = org.schema.get(name)
    if obj is None or not profile.can_see_object(obj.name):
        raise not_found()
    return obj


def global_describe(org: Org, profile: Profile, version: str) -> Described:
    def build() -> dict[str, Any]:
        return {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [
                global_entry(obj, version)
                for obj in sorted(org.schema, key=lambda o: o.name.lower())
                if profile.can_see_object(obj.name)
            ],
        }

    return _cached(org, ("global", profile, version, _schema_stamp(org)), build)


def object_describe(org: Org, profile: Profile, version: str, name: str) -> Described:
    obj = visible_object(org, profile, name)
    return _cached(
        org,
        ("object", profile, version, obj.name, _schema_stamp(org)),
        lambda: _object_describe(org, obj, profile, version),
    )


def basic_info(org: Org, profile: Profile, version: str, name: str) -> Described:
    obj = visible_object(org, profile, name)
    return _cached(
        org,
        ("basic", profile, version, obj.name, _schema_stamp(org)),
        lambda: {"objectDescribe": global_entry(obj, version), "recentItems": []},
    )
