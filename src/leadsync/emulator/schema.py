"""The org's metadata: objects, fields, profiles, validation and duplicate rules.

Describe, SOQL, DML and the SQLite store all read this one model. Names are looked up
case-insensitively, as Salesforce does, and always answered in their canonical spelling.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

# Field types whose values are text in SQLite (compared case-insensitively).
TEXT_TYPES = frozenset(
    {
        "string",
        "textarea",
        "picklist",
        "multipicklist",
        "combobox",
        "email",
        "phone",
        "url",
        "encryptedstring",
    }
)
ID_TYPES = frozenset({"id", "reference"})
COMPOUND_TYPES = frozenset({"address", "location"})
NUMBER_TYPES = frozenset({"int", "long", "double", "currency", "percent"})

SOAP_TYPES: dict[str, str] = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "long": "xsd:long",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "address": "urn:address",
    "location": "urn:location",
    "base64": "xsd:base64Binary",
}


@dataclass
class FieldDef:
    """One field of an sObject, with the properties describe reports."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default_value: Any = None
    external_id: bool = False
    unique: bool = False
    name_field: bool = False
    custom: bool = False
    calculated: bool = False
    reference_to: list[str] = field(default_factory=list)
    relationship_name: str | None = None
    picklist_values: list[str] = field(default_factory=list)
    restricted_picklist: bool = False
    compound_field_name: str | None = None
    compound_components: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.label:
            self.label = _label_from_name(self.name)

    @property
    def stored(self) -> bool:
        """Whether the field has its own SQLite column (compound fields are assembled)."""
        return self.type not in COMPOUND_TYPES

    @property
    def required_on_create(self) -> bool:
        return not self.nillable and self.createable and not self.defaulted_on_create

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES

    @property
    def polymorphic(self) -> bool:
        return len(self.reference_to) > 1


@dataclass
class SObjectDef:
    """An sObject type and its fields, in describe order."""

    name: str
    key_prefix: str
    label: str = ""
    label_plural: str = ""
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    mergeable: bool = False
    fields: dict[str, FieldDef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.label:
            self.label = _label_from_name(self.name)
        if not self.label_plural:
            self.label_plural = self.label + "s"

    def add(self, *defs: FieldDef) -> None:
        for definition in defs:
            self.fields[definition.name.lower()] = definition

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field behind a relationship name such as `Owner` or `Account`."""
        lowered = name.lower()
        for definition in self.fields.values():
            if definition.relationship_name and definition.relationship_name.lower() == lowered:
                return definition
        return None

    def stored_fields(self) -> Iterator[FieldDef]:
        return (f for f in self.fields.values() if f.stored)

    def external_id_fields(self) -> Iterator[FieldDef]:
        return (f for f in self.fields.values() if f.external_id or f.name == "Id")


@dataclass(frozen=True)
class Profile:
    """What a user may see and edit. Field keys are `object.field`, lowercased."""

    name: str
    hidden_fields: frozenset[str] = frozenset()
    readonly_fields: frozenset[str] = frozenset()
    hidden_objects: frozenset[str] = frozenset()
    modify_all: bool = True

    def can_see_object(self, obj: str) -> bool:
        return obj.lower() not in self.hidden_objects

    def can_see(self, obj: str, field_name: str) -> bool:
        key = f"{obj}.{field_name}".lower()
        return key not in self.hidden_fields and obj.lower() not in self.hidden_objects

    def can_edit(self, obj: str, field_name: str) -> bool:
        return self.can_see(obj, field_name) and f"{obj}.{field_name}".lower() not in (
            self.readonly_fields
        )


@dataclass(frozen=True)
class ValidationRule:
    """A declared validation rule. `kind` is one of VALIDATION_KINDS."""

    object: str
    name: str
    field: str
    kind: str
    message: str
    value: Any = None
    active: bool = True


VALIDATION_KINDS = frozenset(
    {"required", "regex", "max_length", "one_of", "greater_than", "less_than"}
)


@dataclass(frozen=True)
class DuplicateRule:
    """Blocks a save when another live record has the same values in all `fields`."""

    object: str
    name: str
    fields: tuple[str, ...]
    message: str = "Use one of these records?"
    active: bool = True


@dataclass
class Schema:
    """Every object of the org, plus the rules that guard writes."""

    objects: dict[str, SObjectDef] = field(default_factory=dict)
    validation_rules: list[ValidationRule] = field(default_factory=list)
    duplicate_rules: list[DuplicateRule] = field(default_factory=list)

    def add(self, obj: SObjectDef) -> None:
        self.objects[obj.name.lower()] = obj

    def get(self, name: str) -> SObjectDef | None:
        return self.objects.get(name.lower())

    def by_prefix(self, prefix: str) -> SObjectDef | None:
        for obj in self.objects.values():
            if obj.key_prefix == prefix:
                return obj
        return None

    def __iter__(self) -> Iterator[SObjectDef]:
        return iter(self.objects.values())

    def rules_for(self, obj: str) -> list[ValidationRule]:
        lowered = obj.lower()
        return [r for r in self.validation_rules if r.active and r.object.lower() == lowered]

    def duplicate_rules_for(self, obj: str) -> list[DuplicateRule]:
        lowered = obj.lower()
        return [r for r in self.duplicate_rules if r.active and r.object.lower() == lowered]

    def child_relationships(self, parent: str) -> list[tuple[SObjectDef, FieldDef]]:
        """(child object, reference field) pairs that point at `parent`."""
        found = []
        for obj in self.objects.values():
            for definition in obj.fields.values():
                if definition.type == "reference" and parent in definition.reference_to:
                    found.append((obj, definition))
        return found


def _label_from_name(name: str) -> str:
    base = name.removesuffix("__c").removesuffix("Id") or name
    words: list[str] = []
    current = ""
    for char in base.replace("_", " "):
        if char.isupper() and current and not current[-1].isupper() and current[-1] != " ":
            words.append(current)
            current = char
        else:
            current += char
    words.append(current)
    return " ".join(w.strip() for w in words if w.strip())


def names(defs: Iterable[FieldDef]) -> list[str]:
    return [d.name for d in defs]
