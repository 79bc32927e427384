"""Starting EHR write-back for answered queries, when the tenant has an EHR FHIR base URL.

Started from the projection of ``answer_query``, so no workflow code changes; the workflow id
is the query's, so a retried projection starts nothing twice.
"""

from collections.abc import Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.encounters.tables import Tenant
from workflows.ehr_writeback import EhrWriteBackWorkflow, WriteBackInput, writeback_workflow_id
from workflows.types import ProjectInput

log = structlog.get_logger(__name__)

EHR_BASE_SETTING = "ehr_fhir_base_url"
EHR_TOKEN_SETTING = "ehr_fhir_token"  # sent as a bearer token when set


async def start_for_projection(
    sessions: async_sessionmaker[AsyncSession], client: Callable[[], Client], task_queue: str, inp: ProjectInput
) -> bool:
    if inp.action != "answer_query" or inp.query is None:
        return False
    async with sessions() as session:
        tenant = await session.get(Tenant, inp.tenant_id)
    if tenant is None or not tenant.settings.get(EHR_BASE_SETTING):
        return False
    try:
        await client().start_workflow(
            EhrWriteBackWorkflow.run,
            WriteBackInput(inp.tenant_id, inp.query.query_id),
            id=writeback_workflow_id(inp.query.query_id),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return False
    log.info("ehr_writeback.started", query_id=inp.query.query_id)
    return True
