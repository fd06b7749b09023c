"""CloudEvents 1.0 envelopes for outbox rows, and the event types and topics."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taskora.events.types import REMINDER_EVENTS, TASK_EVENTS, TOPICS
from taskora.models import OutboxEvent

__all__ = [
    "DEAD_LETTER_SUFFIX",
    "REMINDER_EVENTS",
    "SOURCE",
    "TASK_EVENTS",
    "TOPICS",
    "CloudEvent",
    "dead_letter_topic",
    "to_cloudevent",
]

SOURCE = "/taskora"
DEAD_LETTER_SUFFIX = "-dlq"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}{DEAD_LETTER_SUFFIX}"


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 structured-mode event with the ``sequence``, ``userid`` and ``actor``
    extensions. Unknown attributes (a broker's own, such as Dapr's ``traceparent``) are kept."""

    model_config = ConfigDict(extra="allow")

    specversion: str = Field(pattern=r"^1\.0$")
    id: str = Field(min_length=1, max_length=36)
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: str = "application/json"
    sequence: str
    userid: str
    actor: str
    data: dict[str, Any]

    @property
    def position(self) -> int:
        return int(self.sequence)


def to_cloudevent(row: OutboxEvent) -> CloudEvent:
    return CloudEvent(
        specversion="1.0",
        id=row.event_id,
        source=SOURCE,
        type=row.type,
        subject=row.subject,
        time=row.time,
        sequence=str(row.id),
        userid=row.user_id,
        actor=row.actor,
        data=json.loads(row.data),
    )
