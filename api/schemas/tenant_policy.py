"""The tenant policy as the admin API shows and takes it."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class TenantPolicyOut(BaseModel):
    tenant_id: str
    version: int = Field(description="0 until the policy is first changed; send it back in PUT to detect a concurrent change")
    changed_at: datetime | None
    changed_by: str | None
    policy: dict[str, Any] = Field(description="every policy value, defaults included")
    encounter_classes: dict[str, str] = Field(description="keys allowed in required_documents")
    document_types: dict[str, str] = Field(description="LOINC document types allowed in required_documents")


class TenantPolicyIn(BaseModel):
    policy: dict[str, Any] = Field(
        description="the values to change (any subset of the policy's keys); the others keep their value",
        examples=[{"coding_sla_hours": 48, "required_documents": {"AMB": ["11506-3"], "*": []}}],
    )
    reason: str | None = Field(default=None, max_length=500, description="why; kept with the version")
    version: int | None = Field(default=None, description="the version this change is based on (409 if it moved on)")


class PolicyChangeOut(BaseModel):
    version: int
    changed: list[str]
    actor: str
    role: str
    reason: str | None
    changed_at: datetime
