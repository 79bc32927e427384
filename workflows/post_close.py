"""Payer documents that arrive after an encounter closed: late 277CAs, take-backs, reversals,
corrected and secondary payments.

The encounter workflow ends at `closed`, but payers keep writing for months. Each such document
starts one short workflow (id ``encounter/<id>/payer/<key>``, so a repeat finds the first) whose
activity writes the claim, payment and denial rows and the encounter's audit event in one
transaction: the document shows on the timeline, in the evidence and in the revenue figures, and
the encounter stays closed. An appeal of such a denial (filed and decided) is recorded the same
way by `AppealAfterCloseWorkflow`.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.types import Actor, DenialRef, ProjectionEvent

from workflows.core import ACTIVITY_TIMEOUT, PROJECTION_RETRY


@dataclass(frozen=True)
class PayerDocument:
    """One claim payment (835 CLP) or claim status (277CA) for a closed encounter.

    `key` is the payment id for an 835 (the same key the encounter workflow records as the
    reason of its remit event, so a payment it already took is not taken twice) and
    ``<file id>#<position>`` for a 277CA.
    """

    tenant_id: str
    encounter_id: str
    claim_id: str
    kind: str  # 835 | 277CA
    key: str
    outcome: str  # paid partial denied reversed predetermination | accepted rejected
    paid_cents: int = 0
    status: str = ""
    message: str = ""
    denials: list[DenialRef] = field(default_factory=list)


@dataclass(frozen=True)
class PayerDocumentResult:
    applied: bool
    encounter_status: str
    detail: str = ""


def payer_document_workflow_id(encounter_id: str, key: str) -> str:
    return f"encounter/{encounter_id}/payer/{key}"


@workflow.defn(name="PayerDocumentAfterClose")
class PayerDocumentWorkflow:
    @workflow.run
    async def run(self, doc: PayerDocument) -> PayerDocumentResult:
        result: PayerDocumentResult = await workflow.execute_activity(
            "claims.record_after_close", doc, result_type=PayerDocumentResult,
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=PROJECTION_RETRY,
            schedule_to_close_timeout=timedelta(days=7),
        )  # fmt: skip
        return result


@dataclass(frozen=True)
class AppealAfterClose:
    """An appeal filed, or decided, for a denial of a closed encounter (a denial that arrived
    after it closed). `events` are the same appeal events the encounter workflow projects;
    `key` (``appeal:<id>`` or ``appeal-decision:<id>``) makes it idempotent."""

    tenant_id: str
    encounter_id: str
    key: str
    action: str  # appeal_after_close | appeal_decision_after_close
    actor: Actor
    events: list[ProjectionEvent]
    reason: str = ""


def appeal_after_close_workflow_id(encounter_id: str, key: str) -> str:
    return f"encounter/{encounter_id}/{key}"


@workflow.defn(name="AppealAfterClose")
class AppealAfterCloseWorkflow:
    @workflow.run
    async def run(self, req: AppealAfterClose) -> PayerDocumentResult:
        result: PayerDocumentResult = await workflow.execute_activity(
            "claims.appeal_after_close", req, result_type=PayerDocumentResult,
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=PROJECTION_RETRY,
            schedule_to_close_timeout=timedelta(days=7),
        )  # fmt: skip
        return result
