"""The web UI: server-rendered pages over the same handlers, permissions and scoping as the API."""

from fastapi import APIRouter

from api.web import (
    admin_policy,
    audit_review,
    dashboard_quality,
    denials,
    documents,
    findings,
    inbox,
    labels,
    pages,
    qa_audits,
    sso,
    suggestions,
    workspace,
)

router = APIRouter(include_in_schema=False)
for module in (pages, workspace, suggestions, inbox, qa_audits, audit_review, findings, denials, admin_policy, documents, sso):
    router.include_router(module.router)

# Importing dashboard_quality (and through it dashboard_revenue) registers their dashboard sections.
__all__ = ["dashboard_quality", "labels", "router"]
