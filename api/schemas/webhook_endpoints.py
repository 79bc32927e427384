"""HTTP shapes for outbound webhook endpoints and their delivery log."""

from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from models.webhooks.events import EVENT_TYPES

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


class EndpointIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://integrations.example.org/clearchart/events",
                    "event_types": ["encounter.status_changed", "query.opened", "claim.paid", "denial.opened"],
                    "description": "billing office dashboard",
                }
            ]
        },
    )
    url: AnyHttpUrl = Field(description="http(s) URL receiving POSTed events; public addresses only unless the tenant allows private ones")
    event_types: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    description: str = Field(default="", max_length=500)


class EndpointOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str
    status: str
    disabled_reason: str | None
    created_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="whsec_… signing secret; shown only in this answer")


class AttemptOut(BaseModel):
    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    event_id: str = Field(description="the webhook-id header of every attempt")
    type: str
    occurred_at: datetime
    status: Literal["pending", "delivered", "failed", "skipped"]
    attempts: list[AttemptOut]
    payload: dict[str, Any]


class ReplayIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"since": "2026-12-01T00:00:00Z"}, {"event_ids": ["msg_2fX9…"]}]},
    )
    event_ids: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    since: datetime | None = Field(default=None, description="every subscribed event from this time on")

    @model_validator(mode="after")
    def _one_selector(self) -> "ReplayIn":
        if (self.event_ids is None) == (self.since is None):
            raise ValueError("give either event_ids or since")
        if self.since is not None and self.since.tzinfo is None:
            raise ValueError("since needs a time zone, e.g. 2026-12-01T00:00:00Z")
        return self


class ReplayOut(BaseModel):
    queued: list[str]
