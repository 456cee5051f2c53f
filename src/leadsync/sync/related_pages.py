"""The related objects the pull stores a page at a time (see `related.PageStore`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import Connection

from .campaigns import store_campaign_statuses, store_campaigns, store_members
from .custom_objects import store_custom_records
from .objects import Kind, ReadPlan
from .opportunities import store_opportunities, store_roles
from .records import SfRecord
from .tasks import store_sfdc_activities

StorePage = Callable[[Connection, ReadPlan, Sequence[SfRecord], dt.datetime], list[str]]
PAGE_STORES: Mapping[Kind, StorePage] = {
    Kind.OPPORTUNITY: store_opportunities,
    Kind.ROLE: store_roles,
    Kind.CAMPAIGN: store_campaigns,
    Kind.CAMPAIGN_STATUS: store_campaign_statuses,
    Kind.CAMPAIGN_MEMBER: store_members,
    Kind.CUSTOM: store_custom_records,
    Kind.ACTIVITY: store_sfdc_activities,
}
