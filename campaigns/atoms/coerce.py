"""Reading loosely typed JSON values from Atoms.

Atoms makes every response field optional and sometimes sends numbers as strings or
null, so each reader returns a neutral value instead of raising.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def as_text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_int(value: Any) -> int:
    number = as_int_or_none(value)
    return 0 if number is None else number


def as_int_or_none(value: Any) -> int | None:
    # bool is an int subclass, but a JSON true is never a count.
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = value.strip()
        try:
            return int(value)
        except ValueError:
            pass
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) else None


def as_float(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return 0.0
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def as_bool(value: Any, default: bool = False) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return default


def as_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # Atoms writes UTC; a zone-less stamp is read as UTC so comparisons never mix kinds.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def as_objects(value: Any) -> list[Mapping[str, Any]]:
    """The dict items of a JSON array; anything else in it is ignored."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def resource_id(obj: Mapping[str, Any]) -> str:
    return as_text(obj.get("_id") if obj.get("_id") is not None else obj.get("id"))


def reference_id(value: Any) -> str:
    """An id that may arrive flat ("65f0…") or populated ({"_id": "65f0…", ...})."""
    if isinstance(value, dict):
        return resource_id(value)
    return as_text(value)
