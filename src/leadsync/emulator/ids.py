"""Salesforce record ids: key prefixes, the 18-character checksum, and case recovery."""

from __future__ import annotations

import string

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_CHECKSUM_ALPHABET = string.ascii_uppercase + "012345"

KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "Lead": "00Q",
    "Campaign": "701",
    "CampaignMember": "00v",
    "Organization": "00D",
    "Task": "00T",
    "Event": "00U",
    "Profile": "00e",
    "Group": "00G",
    "OpportunityContactRole": "00K",
    "LeadStatus": "01J",
    "CampaignMemberStatus": "01Y",
    "BulkJob": "750",
    "QueryLocator": "01g",
}

# Emulated instance: ids look like 00Q5e000001AbcdEAB (prefix, pod "5e", sequence).
_POD = "5e"
_SEQUENCE_WIDTH = 10


def checksum(id15: str) -> str:
    """The three characters that make a 15-character id case-insensitively unique."""
    suffix = []
    for block in range(3):
        bits = 0
        for position, char in enumerate(id15[block * 5 : block * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix.append(_CHECKSUM_ALPHABET[bits])
    return "".join(suffix)


def to_18(id15: str) -> str:
    return id15 + checksum(id15)


# Lookup tables that let `make_id` build an id from two-character pieces: seeding a
# million-record org allocates a million ids, and the digit-by-digit loop dominated that.
_PAIRS = [a + b for a in BASE62 for b in BASE62]
_PAIR_UPPER = [(a.isupper()) | (b.isupper()) << 1 for a in BASE62 for b in BASE62]
_CHAR_UPPER = [int(c.isupper()) for c in BASE62]
_BLOCK = 62**5
_HEAD_CODES: dict[str, str] = {}


def _five(value: int) -> tuple[str, int]:
    """Five base-62 digits of `value` (< 62**5) and their checksum bits."""
    high, rest = divmod(value, 62**3)
    middle, low = divmod(rest, 62)
    bits = _PAIR_UPPER[high] | _PAIR_UPPER[middle] << 2 | _CHAR_UPPER[low] << 4
    return _PAIRS[high] + _PAIRS[middle] + BASE62[low], bits


def make_id(prefix: str, sequence: int) -> str:
    """The 18-character id of the `sequence`-th record with this key prefix."""
    if not 0 <= sequence < _BLOCK * _BLOCK:
        raise OverflowError("id sequence exhausted")
    high, low = divmod(sequence, _BLOCK)
    first, first_bits = _five(high)
    second, second_bits = _five(low)
    head = prefix + _POD
    head_code = _HEAD_CODES.get(head)
    if head_code is None:
        head_code = _HEAD_CODES[head] = checksum(head)[0]
    return (
        head
        + first
        + second
        + head_code
        + _CHECKSUM_ALPHABET[first_bits]
        + _CHECKSUM_ALPHABET[second_bits]
    )


def normalize_id(value: str) -> str | None:
    """The canonical 18-character id for a 15- or 18-character input, or None if malformed.

    15-character ids are case-sensitive as given; 18-character ids are case-insensitive,
    so their case is recovered from the checksum.
    """
    if len(value) == 15:
        return to_18(value) if value.isalnum() and value.isascii() else None
    if len(value) != 18 or not value.isalnum() or not value.isascii():
        return None
    suffix = value[15:].upper()
    chars = list(value[:15])
    for block, code in enumerate(suffix):
        bits = _CHECKSUM_ALPHABET.find(code)
        if bits < 0:
            return None
        for position in range(5):
            index = block * 5 + position
            upper = bool(bits & (1 << position))
            char = chars[index]
            if char.isalpha():
                chars[index] = char.upper() if upper else char.lower()
            elif upper:
                return None
    return "".join(chars) + suffix


def prefix_of(record_id: str) -> str:
    return record_id[:3]
