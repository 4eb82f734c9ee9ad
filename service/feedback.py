"""The feedback log: one JSON line per feedback item, appended, never rewritten. It holds the card and
suggestion uuids, the outcome, the override reason's code and the times, never the clinician's comment
(free text may name the patient) nor anything else of the patient."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from .models import FeedbackRequest


class FeedbackLog:
    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()

    def record(self, service_id: str, request: FeedbackRequest) -> int:
        """Append one line per item (when a log file is configured); the number of items accepted."""
        received = datetime.now(UTC).isoformat(timespec="seconds")
        lines = []
        for item in request.feedback:
            reason = item.overrideReason.reason if item.overrideReason is not None else None
            lines.append(json.dumps({
                "received": received, "service": service_id, "card": item.card, "outcome": item.outcome,
                "acceptedSuggestions": [s.id for s in item.acceptedSuggestions or ()],
                "overrideReason": {"system": reason.system, "code": reason.code} if reason is not None else None,
                "commented": bool(item.overrideReason and item.overrideReason.userComment),
                "outcomeTimestamp": item.outcomeTimestamp,
            }, sort_keys=True, ensure_ascii=False))
        if self.path is not None and lines:
            with self._lock, self.path.open("a", encoding="utf-8") as log:
                log.write("".join(line + "\n" for line in lines))
        return len(lines)
