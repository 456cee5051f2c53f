"""Pulled custom object records: any custom object the sync user can query whose fields look
up a lead, contact or account (Marketo's rule). Values are kept by API name in
`custom_object_records.fields`; the lookups give the record's person and company."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select

from ..db.schema import companies, custom_object_records
from .records import SfRecord
from .related import (
    ACCOUNT_PREFIX,
    PERSON_PREFIXES,
    PageStore,
    by_page,
    changed,
    chunks,
    index,
    one_by_one,
    persons_of,
    rows_where,
)
from .related import values_of as read_values
from .store import company_for_account


class CustomRecordStore(PageStore):
    def load(self, records: Sequence[SfRecord]) -> None:
        table = custom_object_records
        found = rows_where(
            self.conn,
            table,
            lambda ids: (table.c.object_name == self.plan.name) & table.c.sfdc_id.in_(ids),
            [r.id for r in records],
        )
        self.rows = index(found, lambda row: row.sfdc_id)
        self.fields: dict[str, dict[str, Any]] = {}
        for record in records:
            row = self.rows.get(record.id)
            if row is None and record.deleted:
                continue
            fields = dict(row.fields or {}) if row is not None else {}
            fields.update(read_values(record))
            self.fields[record.id] = fields
        people = [v for f in self.fields.values() for _, v in self._lookups(f, PERSON_PREFIXES)]
        self.persons = persons_of(self.conn, people)
        accounts = [self._account(fields) for fields in self.fields.values()]
        self.companies = self._companies([a for a in accounts if a is not None])

    def _lookups(
        self, fields: dict[str, Any], prefixes: tuple[str, ...]
    ) -> Iterator[tuple[str, str]]:
        """(API name, id) of the lookups in `fields` naming an id with one of `prefixes`."""
        for api, value in fields.items():
            lookup = self.plan.sf_types.get(api) == "reference" and isinstance(value, str)
            if lookup and value.startswith(prefixes):
                yield api, value

    def _account(self, fields: dict[str, Any]) -> str | None:
        """The record's company: the first lookup naming an account."""
        return next((value for _, value in self._lookups(fields, (ACCOUNT_PREFIX,))), None)

    def _companies(self, accounts: list[str]) -> dict[str, int]:
        """The company of each account; a placeholder row, in the records' order, for one not
        read yet."""
        found: dict[str, int] = {}
        for chunk in chunks(sorted(set(accounts))):
            rows = self.conn.execute(
                select(companies.c.sfdc_account_id, companies.c.id)
                .where(companies.c.sfdc_account_id.in_(chunk))
                .order_by(companies.c.id)
            )
            for account, company_id in rows:
                found.setdefault(account, int(company_id))
        for account in accounts:
            if account not in found:
                found[account] = company_for_account(self.conn, account, self.at)
        return found

    def store_one(self, record: SfRecord) -> str | None:
        table = custom_object_records
        row = self.rows.get(record.id)
        if row is None and record.deleted:
            return "skipped"
        if not self.claim(record.id):
            return None
        fields = self.fields[record.id]
        wanted = {
            "person_id": self._person(record, fields),
            "company_id": self.companies.get(self._account(fields) or ""),
            "sfdc_is_deleted": record.deleted,
            "fields": fields,
        }
        if row is None:
            self.writes.insert(
                table,
                object_name=record.object,
                sfdc_id=record.id,
                **wanted,
                created_at=self.at,
                updated_at=self.at,
            )
            return "new"
        if not changed(row, wanted):
            return "skipped"
        self.writes.update(table, row.id, **wanted, updated_at=self.at)
        return "deleted" if record.deleted and not row.sfdc_is_deleted else "updated"

    def _person(self, record: SfRecord, fields: dict[str, Any]) -> int | None:
        """The first lookup naming a person leadsync holds; one naming a person it does not
        hold is reported, and the record is kept without it."""
        for api, value in self._lookups(fields, PERSON_PREFIXES):
            person_id = self.persons.get(value)
            if person_id is not None:
                return person_id
            self.unknown_reference(record, api, value, "lead or contact")
        return None


store_custom_records = by_page(CustomRecordStore)
store_custom_record = one_by_one(CustomRecordStore)
