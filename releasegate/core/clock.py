"""Times as runbooks and tools write them, read into epoch seconds."""

from __future__ import annotations

import re
from datetime import datetime, timezone


def parse_time(value: str) -> float:
    """An ISO 8601 time, epoch seconds, or pg_restore's 'YYYY-MM-DD HH:MM:SS TZ' -> epoch."""
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    text = re.sub(r" (UTC|GMT|Z)$", "+00:00", text).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()
