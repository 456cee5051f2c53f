"""The sync engine. This package never imports `leadsync.emulator`: it talks to Salesforce only
through `leadsync.salesforce`, so the same code runs against a real org and the emulator."""

from .objects import OBJECTS, ObjectSpec, ReadPlan
from .pull import Puller, PullResult, PullSettings

__all__ = ["OBJECTS", "ObjectSpec", "PullResult", "PullSettings", "Puller", "ReadPlan"]
