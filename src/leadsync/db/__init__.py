"""The lead database: persons, companies, owners, opportunities, campaigns, custom objects, the
activity log and the sync state, on SQLite (default) or PostgreSQL. Start at `LeadDatabase`."""

from .changes import LOCAL, SALESFORCE, Change
from .custom_fields import CustomField
from .database import LeadDatabase, open_database
from .engine import DEFAULT_URL, database_url
from .fields import PERSON_FIELDS, FieldType, Group, PersonField
from .mapping import FieldMapping

__all__ = [
    "DEFAULT_URL",
    "LOCAL",
    "PERSON_FIELDS",
    "SALESFORCE",
    "Change",
    "CustomField",
    "FieldMapping",
    "FieldType",
    "Group",
    "LeadDatabase",
    "PersonField",
    "database_url",
    "open_database",
]
