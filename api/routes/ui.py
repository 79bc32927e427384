"""The web UI's mount point in the app: every page lives in `api.web`."""

from api.web import router

__all__ = ["router"]
