"""The web UI: server-rendered pages over the same handlers, permissions and scoping as the API."""

from fastapi import APIRouter

from api.web import audits, inbox, pages, workspace

router = APIRouter(include_in_schema=False)
for module in (pages, workspace, inbox, audits):
    router.include_router(module.router)

__all__ = ["router"]
