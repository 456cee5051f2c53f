"""Bulk query results as CSV text, a chunk of rows at a time, rendered mostly by SQLite.

Building 25 Python objects per row and feeding them to the csv module costs most of a
million-row job. Here SQLite's printf() joins each row's cell texts with a separator
character, and a chunk's lines are turned into CSV with a few `str.replace` calls over the
whole chunk (Bulk 2.0 quotes every value, so only quotes need doubling).

SQLite only renders a cell whose text is certain to match the general path
(`CompiledQuery.csv_cells` and the csv module); any other stored value (a fractional
double, a datetime before the year 1000, ...) comes out as MARK, and its raw value is
selected alongside for Python to convert. Text that happens to hold one of the control
characters used here sends its chunk, or its row, through the general path, which gives
the same bytes, only slower.
"""

from __future__ import annotations

import csv
import io
import operator
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .query import CompiledQuery, Row, csv_cell, is_converted
from .schema import FieldDef
from .store import column_affinity
from .values import text_with_nul_stored

SEP = "\x1f"  # between the cells of a line
ROW = "\x1e"  # between the lines of a chunk
MARK = "\x1a"  # a cell SQLite could not render
# SQLite functions take at most 127 arguments: longer rows are printed in parts.
_PRINTF_ARGS = 100
# 1000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: SQLite's strftime() and Python's agree on
# years of four digits; glibc does not pad earlier ones.
_FIRST_DATETIME = -30610224000
_LAST_DATETIME = 253402300799
# Integral doubles below 2**63 print as SQLite integers exactly as `str(int(value))`.
_INTEGRAL_LIMIT = "9.2e18"

Chunk = tuple[int, str]  # (rows, their CSV text)


def csv_chunks(
    compiled: CompiledQuery,
    conn: sqlite3.Connection,
    delimiter: str,
    line_ending: str,
    size: int,
) -> Iterator[Chunk]:
    """The result's rows as CSV text (every value quoted), `size` rows a chunk."""
    if compiled.count_only:
        return
    if _renders_in_sql(compiled):
        yield from _FastRenderer(compiled, conn, delimiter, line_ending).chunks(size)
    else:
        yield from _general_chunks(compiled, conn, delimiter, line_ending, size)


def _renders_in_sql(compiled: CompiledQuery) -> bool:
    plan = compiled.plan
    return (
        not plan.aggregate
        and not plan.has_subquery
        and bool(plan.columns)
        and bool(plan.root_alias)
        and all(index >= 0 for _, index, _ in plan.csv_columns)
        and not text_with_nul_stored()
    )


def _writer(target: io.StringIO, delimiter: str, line_ending: str) -> Any:
    return csv.writer(
        target, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_ALL
    )


def _general_chunks(
    compiled: CompiledQuery,
    conn: sqlite3.Connection,
    delimiter: str,
    line_ending: str,
    size: int,
) -> Iterator[Chunk]:
    cells = compiled.csv_cells()
    cursor = compiled.execute(conn)
    while rows := cursor.fetchmany(size):
        buffer = io.StringIO()
        _writer(buffer, delimiter, line_ending).writerows(cells(row) for row in rows)
        yield len(rows), buffer.getvalue()


# -- the SQL ----------------------------------------------------------------------------------


def cell_sql(sql: str, definition: FieldDef | None) -> tuple[str, bool]:
    """SQL for the text of the cell of column `sql`, and whether its raw value is needed
    too: text columns hold only text or NULL (printed as an empty string); other columns
    print MARK where SQLite's text might differ from the general path's."""
    kind = definition.type if definition is not None else ""
    if definition is not None and column_affinity(definition) == "TEXT":
        return sql, False
    if kind == "boolean":
        rendered = (
            f"CASE typeof({sql}) WHEN 'integer' THEN IIF({sql} <> 0, 'true', 'false') "
            "WHEN 'null' THEN ''"
        )
    elif kind == "datetime":
        rendered = (
            f"CASE WHEN typeof({sql}) = 'integer' AND {sql} BETWEEN {_FIRST_DATETIME} "
            f"AND {_LAST_DATETIME} THEN strftime('%Y-%m-%dT%H:%M:%S.000Z', {sql}, 'unixepoch') "
            f"WHEN {sql} IS NULL THEN ''"
        )
    elif kind in ("double", "currency", "percent"):
        rendered = (
            f"CASE WHEN typeof({sql}) = 'real' AND {sql} BETWEEN -{_INTEGRAL_LIMIT} "
            f"AND {_INTEGRAL_LIMIT} AND {sql} = CAST({sql} AS INTEGER) "
            f"THEN CAST({sql} AS INTEGER) WHEN {sql} IS NULL THEN ''"
        )
    else:  # int, long and anything else the csv module writes itself: plain integers
        rendered = f"CASE typeof({sql}) WHEN 'integer' THEN {sql} WHEN 'null' THEN ''"
    return f"{rendered} ELSE char(26) END", True


class _FastRenderer:
    def __init__(
        self, compiled: CompiledQuery, conn: sqlite3.Connection, delimiter: str, line_ending: str
    ) -> None:
        self.compiled = compiled
        self.conn = conn
        self.delimiter = delimiter
        self.line_ending = line_ending
        plan = compiled.plan
        texts: list[str] = []
        raws: list[str] = []
        # (cell position, position of its raw value in a fetched row, its converter)
        self.fixes: list[tuple[int, int, Callable[[Any], Any]]] = []
        for position, (_, index, definition) in enumerate(plan.csv_columns):
            sql = plan.columns[index]
            text, needs_raw = cell_sql(sql, definition)
            texts.append(text)
            if needs_raw:
                raws.append(sql)
                # A converted type's cell is its converter's text; the csv module writes
                # any other raw value itself.
                convert = csv_cell(definition) if is_converted(definition) else _same
                self.fixes.append((position, 1 + len(raws), convert))
        self.width = len(texts)
        lines: list[str] = []
        formats: list[str] = []
        for start in range(0, len(texts), _PRINTF_ARGS):
            part = texts[start : start + _PRINTF_ARGS]
            lines.append(f"printf(?, {', '.join(part)})")
            formats.append(SEP.join(["%s"] * len(part)))
        line = f" || '{SEP}' || ".join(lines)
        alias = plan.root_alias
        selected = ", ".join([line, f"{alias}.rowid", *raws])
        self.sql = f"SELECT {selected}{plan.tail.sql}"
        self.params = (*formats, *plan.tail.params)
        self.lookup_sql = (
            f"SELECT {alias}.rowid, {', '.join(plan.columns)} FROM {plan.source} "
            f"WHERE {alias}.rowid IN "
        )
        quoted_delimiter = f'"{delimiter}"'
        self.replacements = (quoted_delimiter, f'"{line_ending}"')

    def chunks(self, size: int) -> Iterator[Chunk]:
        try:
            cursor = self.conn.execute(self.sql, self.params)
        except (sqlite3.OperationalError, OverflowError):
            # Whatever SQLite cannot take here, the general path reports as it always has.
            yield from _general_chunks(
                self.compiled, self.conn, self.delimiter, self.line_ending, size
            )
            return
        first = operator.itemgetter(0)
        while rows := cursor.fetchmany(size):
            text = ROW.join(map(first, rows))
            if (
                MARK not in text
                and text.count(SEP) == len(rows) * (self.width - 1)
                and text.count(ROW) == len(rows) - 1
            ):
                between_cells, between_lines = self.replacements
                body = text.replace('"', '""').replace(SEP, between_cells)
                yield len(rows), f'"{body.replace(ROW, between_lines)}"{self.line_ending}'
            else:
                yield len(rows), self._slow_chunk(rows)

    def _slow_chunk(self, rows: Sequence[Row]) -> str:
        """A chunk with cells SQLite could not render, or text holding a control
        character used here: the rows as the general path's cells."""
        cells: list[list[Any] | None] = []
        unsplit: list[int] = []
        for row in rows:
            line = row[0]
            if line.count(SEP) != self.width - 1:
                unsplit.append(row[1])
                cells.append(None)
                continue
            values: list[Any] = line.split(SEP)
            if MARK in line:
                for position, raw_index, convert in self.fixes:
                    if values[position] == MARK:
                        values[position] = convert(row[raw_index])
            cells.append(values)
        general = self._general_cells(unsplit)
        buffer = io.StringIO()
        writer = _writer(buffer, self.delimiter, self.line_ending)
        writer.writerows(
            values if values is not None else general[row[1]]
            for values, row in zip(cells, rows, strict=True)
        )
        return buffer.getvalue()

    def _general_cells(self, rowids: list[int]) -> dict[int, list[Any]]:
        """The general path's cells of these rows (of the same snapshot), by rowid."""
        if not rowids:
            return {}
        marks = ", ".join("?" * len(rowids))
        cells = self.compiled.csv_cells()
        found = self.conn.execute(f"{self.lookup_sql}({marks})", rowids)
        return {row[0]: cells(row[1:]) for row in found}


def _same(value: Any) -> Any:
    return value
