"""Field values across their three forms: the wire (JSON, CSV, SOQL), SQLite, and back.

Storage forms: text and ids as TEXT; booleans 0/1; int/long INTEGER; double, currency and
percent REAL; date 'YYYY-MM-DD'; datetime INTEGER seconds since the epoch (Salesforce keeps
whole seconds); time 'HH:MM:SS.fffZ'.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from .errors import SalesforceError
from .ids import normalize_id
from .schema import FieldDef

Converter = Callable[[Any], Any]
_Number = TypeVar("_Number", int, float)
# 9999-12-31T23:59:59Z, the last moment a Salesforce datetime can hold.
MAX_EPOCH_SECONDS = 253402300799

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?Z?$")
# Salesforce's own email check is permissive; this keeps to what it rejects in practice.
EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


# Set once any text value with a NUL character went into storage in this process (see
# `text_with_nul_stored`); a list so the flag is shared without a `global` statement.
_stored_nul = [False]


def text_with_nul_stored() -> bool:
    """Whether a text value holding NUL may be stored: SQLite's printf() ends a string at
    NUL, so the Bulk CSV fast path (`bulk_csv`) cannot render such text and stands aside.
    Every text value comes through `to_db` (seeds write plain text), so until one with NUL
    did, none is stored."""
    return _stored_nul[0]


def note_text_with_nul() -> None:
    """Text with NUL may be stored (a value just written, or an org file written by another
    process, which this one cannot vouch for)."""
    _stored_nul[0] = True


def parse_datetime(text: str) -> int | None:
    """Epoch seconds for an ISO 8601 datetime (Z, +hh:mm, +hhmm or none), else None."""
    match = _DATETIME.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, _fraction, offset = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    if offset and offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        try:
            moment = moment - sign * delta
        except OverflowError:  # an offset pushing 0001-01-01 or 9999-12-31 out of range
            return None
    return int(moment.timestamp())


def parse_date(text: str) -> str | None:
    """'YYYY-MM-DD' for a date (a datetime's date part is accepted), else None."""
    candidate = text.strip()[:10]
    if not _DATE.match(candidate):
        return None
    try:
        date.fromisoformat(candidate)
    except ValueError:
        return None
    return candidate


def format_datetime_json(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(seconds))


def format_datetime_csv(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))


def format_datetime_soap(seconds: int) -> str:
    return format_datetime_csv(seconds)


def today(seconds: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


def bad_type(definition: FieldDef, value: Any) -> SalesforceError:
    return SalesforceError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{definition.label}: value not of required type: {value}",
        fields=[definition.name],
    )


def to_db(definition: FieldDef, value: Any) -> Any:
    """Coerce a JSON input value for `definition` into its storage form, or raise."""
    if value is None:
        return None
    kind = definition.type
    if definition.is_text or kind == "time" or kind == "base64":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise bad_type(definition, value)
        text = value if isinstance(value, str) else _number_text(value)
        if kind == "time":
            return _time_to_db(definition, text)
        if "\x00" in text:
            note_text_with_nul()
        return text
    if kind in ("id", "reference"):
        if not isinstance(value, str):
            raise bad_type(definition, value)
        if value == "":
            return None
        normalized = normalize_id(value)
        if normalized is None:
            raise SalesforceError(
                "MALFORMED_ID",
                f"{definition.label}: id value of incorrect type: {value}",
                fields=[definition.name],
            )
        return normalized
    if kind == "boolean":
        return 1 if _to_bool(definition, value) else 0
    if kind in ("int", "long"):
        return _in_range(definition, _to_int(definition, value), value)
    if kind in ("double", "currency", "percent"):
        return _in_range(definition, _to_float(definition, value), value)
    if kind == "date":
        parsed = parse_date(value) if isinstance(value, str) else None
        if parsed is None:
            raise bad_type(definition, value)
        return parsed
    if kind == "datetime":
        if isinstance(value, int | float) and not isinstance(value, bool):
            # Epoch milliseconds; beyond year 9999 no timestamp (nor SQLite integer) holds it.
            if not -MAX_EPOCH_SECONDS <= value / 1000 <= MAX_EPOCH_SECONDS:
                raise bad_type(definition, value)
            return int(value / 1000)
        seconds = parse_datetime(value) if isinstance(value, str) else None
        if seconds is None:
            raise bad_type(definition, value)
        return seconds
    raise bad_type(definition, value)


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _to_bool(definition: FieldDef, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise bad_type(definition, value)


def _to_int(definition: FieldDef, value: Any) -> int:
    if isinstance(value, bool):
        raise bad_type(definition, value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                raise bad_type(definition, value) from None
            if number.is_integer():
                return int(number)
    raise bad_type(definition, value)


def _in_range(definition: FieldDef, number: _Number, given: Any) -> _Number:
    """`number` if it fits the field's integer digits (as describe reports them), else the
    platform's range error; this also keeps every number within SQLite's 64-bit integers."""
    if definition.type == "int":
        digits = definition.precision or 9
    elif definition.type == "long":
        digits = definition.precision or 18
    else:
        digits = (definition.precision or 18) - definition.scale
    if abs(number) >= 10**digits:
        raise SalesforceError(
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"{definition.label}: value outside of valid range on numeric field: {given}",
            fields=[definition.name],
        )
    return number


def _to_float(definition: FieldDef, value: Any) -> float:
    if isinstance(value, bool):
        raise bad_type(definition, value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise bad_type(definition, value) from None
    if math.isnan(number) or math.isinf(number):
        raise bad_type(definition, value)
    return number


def _time_to_db(definition: FieldDef, text: str) -> str:
    match = _TIME.match(text.strip())
    if not match:
        raise bad_type(definition, text)
    hour, minute, second, fraction = match.groups()
    millis = (fraction or "0")[:3].ljust(3, "0")
    return f"{hour}:{minute}:{second or '00'}.{millis}Z"


def json_converter(definition: FieldDef) -> Converter:
    """storage value -> REST JSON value."""
    kind = definition.type
    if kind == "boolean":
        return _bool_out
    if kind == "datetime":
        return _datetime_json_out
    if kind in ("int", "long"):
        return _identity
    return _identity


def csv_converter(definition: FieldDef) -> Callable[[Any], str]:
    """storage value -> Bulk CSV cell text (null is an empty cell)."""
    kind = definition.type
    if kind == "boolean":
        return _bool_csv
    if kind == "datetime":
        return _datetime_csv_out
    if kind in ("double", "currency", "percent"):
        return _float_csv
    return _text_csv


def _identity(value: Any) -> Any:
    return value


def _bool_out(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _datetime_json_out(value: Any) -> str | None:
    return None if value is None else format_datetime_json(value)


def _bool_csv(value: Any) -> str:
    if value is None:
        return ""
    return "true" if value else "false"


def _datetime_csv_out(value: Any) -> str:
    return "" if value is None else format_datetime_csv(value)


def _float_csv(value: Any) -> str:
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _text_csv(value: Any) -> str:
    return "" if value is None else str(value)


def now_utc() -> datetime:
    return datetime.now(tz=UTC)
