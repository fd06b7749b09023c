"""Public request and response shapes of the API (one family per entity)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from taskora.domain.recurrence import check_rule
from taskora.events.types import EventType

__all__ = [
    "PRIORITIES",
    "Priority",
    "SortKey",
    "Status",
    "TagCreate",
    "TagPublic",
    "TagUpdate",
    "TagsPublic",
    "TaskCreate",
    "TaskPublic",
    "TaskQuery",
    "TaskUpdate",
    "TasksPublic",
]

Priority = Literal["low", "medium", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("low", "medium", "high", "urgent")  # index = stored rank
Status = Literal["open", "done"]
SortKey = Literal[
    "created_at", "-created_at", "due_at", "-due_at", "priority", "-priority", "title", "-title"
]
DEFAULT_TAG_COLOR = "#6b7280"


def _drop_default(schema: dict[str, Any]) -> None:
    """Document a PATCH field as 'may be omitted' rather than 'defaults to null'."""
    schema.pop("default", None)


def _omittable() -> Any:
    return Field(default=None, json_schema_extra=_drop_default)


NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL; say so with a 422, not a 500
YEARS = r"^(19|[2-8][0-9])[0-9]{2}-"  # 1900-8999, written in the schema as well


def _in_range(value: datetime) -> datetime:
    if not 1900 <= value.year <= 8999 or not 1900 <= value.astimezone(UTC).year <= 8999:
        raise ValueError("the year must be between 1900 and 8999, in UTC too")
    return value  # keeps its offset: a recurring series recurs in it


def _id_in_range(value: str) -> str:
    if int(value) > MAX_ID:
        raise ValueError("no id is that large: pass next_cursor from the previous page")
    return value


MAX_ID = 2**63 - 1
IdCursor = Annotated[
    str, StringConstraints(max_length=19, pattern=r"^[0-9]+$"), AfterValidator(_id_in_range)
]


Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)
]
Description = Annotated[str, StringConstraints(max_length=10_000, pattern=NO_NUL)]
Moment = Annotated[
    AwareDatetime,
    AfterValidator(_in_range),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": YEARS}),
]
TagName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"),
    AfterValidator(str.lower),
]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$"), AfterValidator(str.lower)]
RRule = Annotated[
    str,
    StringConstraints(min_length=6, max_length=500, pattern=NO_NUL),
    AfterValidator(check_rule),
]


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone such as Europe/Berlin") from None
    return name


ZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+/-]*$"),
    AfterValidator(_check_zone),
]


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


TagList = Annotated[list[TagName], Field(max_length=20), AfterValidator(_unique)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskCreate(_Input):
    title: Title
    description: Description = ""
    priority: Priority = "medium"
    tags: TagList = []
    due_at: Moment | None = None
    remind_at: Moment | None = None
    recurrence: RRule | None = Field(
        default=None, description="RFC 5545 RRULE, e.g. FREQ=MONTHLY;COUNT=6; needs due_at"
    )
    timezone: ZoneName | None = Field(
        default=None,
        description="IANA zone the series recurs in (keeps 09:00 at 09:00 across DST); "
        "default: the UTC offset due_at was given with",
    )


class TaskUpdate(_Input):
    """Every field may be omitted; ``null`` clears due_at, remind_at and recurrence."""

    title: Title = _omittable()
    description: Description = _omittable()
    priority: Priority = _omittable()
    tags: TagList = _omittable()
    due_at: Moment | None = None
    remind_at: Moment | None = None
    recurrence: RRule | None = None
    timezone: ZoneName | None = None


class TaskPublic(BaseModel):
    id: int
    title: str
    description: str
    priority: Priority
    status: Status
    tags: list[str]
    due_at: datetime | None
    remind_at: datetime | None
    recurrence: str | None
    timezone: str | None
    series_id: int | None = Field(description="Shared by every occurrence of a recurring task")
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class TasksPublic(BaseModel):
    items: list[TaskPublic]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page"
    )


class TaskQuery(BaseModel):
    """Filters, sort and page of ``GET /api/tasks``."""

    status: Literal["open", "done", "all"] = "all"
    priority: list[Priority] = []
    tag: list[TagName] = Field(default=[], max_length=20, description="All must match")
    q: str | None = Field(
        default=None, max_length=200, pattern=NO_NUL, description="Search title and description"
    )
    due_before: Moment | None = None
    due_after: Moment | None = None
    overdue: bool | None = None
    sort: SortKey = "-created_at"
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=512, pattern=NO_NUL)


class TagCreate(_Input):
    name: TagName
    color: Color = DEFAULT_TAG_COLOR


class TagUpdate(_Input):
    name: TagName = _omittable()
    color: Color = _omittable()


class TagPublic(BaseModel):
    name: str
    color: str
    task_count: int


class TagsPublic(BaseModel):
    items: list[TagPublic]


# The audit filter takes any event type; documented inline (a query parameter's schema cannot
# point into the model's own $defs).
AuditType = Annotated[
    EventType, WithJsonSchema({"type": "string", "enum": [t.value for t in EventType]})
]


class AuditQuery(BaseModel):
    task_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    type: list[AuditType] = []
    since: Moment | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: IdCursor | None = None


class AuditEntryPublic(BaseModel):
    id: int
    event_id: str
    type: str
    actor: str
    task_id: int | None
    time: datetime
    before: Any
    after: Any


class AuditPage(BaseModel):
    items: list[AuditEntryPublic]
    next_cursor: str | None


class NotificationPublic(BaseModel):
    id: int
    kind: str
    message: str
    task_id: int | None
    created_at: datetime
    read_at: datetime | None


class NotificationsPage(BaseModel):
    items: list[NotificationPublic]
    next_cursor: str | None


class UnreadCount(BaseModel):
    unread: int


class NotificationQuery(BaseModel):
    unread: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    cursor: IdCursor | None = None


class PreferencesPublic(BaseModel):
    reminders_enabled: bool


class PreferencesUpdate(_Input):
    reminders_enabled: bool = _omittable()
