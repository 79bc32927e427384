"""The web UI entry point; a static page that holds no data, so it needs no token."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["ui"], include_in_schema=False)

INDEX = Path(__file__).resolve().parent.parent / "static" / "index.html"


@router.get("/ui", response_class=HTMLResponse)
async def index() -> HTMLResponse:
    return HTMLResponse(INDEX.read_text(encoding="utf-8"))
