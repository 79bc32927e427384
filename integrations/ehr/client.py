"""Writing to an EHR's FHIR R4 API: an update-as-create PUT, so a retried write is harmless."""

from typing import Any

import httpx
import structlog

log = structlog.get_logger(__name__)

FHIR_JSON = "application/fhir+json"


class EhrUnavailable(Exception):
    """The EHR did not answer or answered 5xx/429: worth retrying later."""


class EhrRejected(Exception):
    """The EHR refused the resource (4xx): retrying the same write will not help."""


class FhirClient:
    def __init__(self, http: httpx.AsyncClient, base_url: str, *, token: str | None = None) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"accept": FHIR_JSON, "content-type": FHIR_JSON}
        if token:
            self._headers["authorization"] = f"Bearer {token}"

    async def put(self, resource: dict[str, Any]) -> int:
        """Create or replace ``resource`` at its id; returns the HTTP status (200 or 201)."""
        url = f"{self._base}/{resource['resourceType']}/{resource['id']}"
        try:
            response = await self._http.put(url, json=resource, headers=self._headers, timeout=30)
        except httpx.HTTPError as exc:
            raise EhrUnavailable(f"{url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise EhrUnavailable(f"{url} answered {response.status_code}")
        if response.status_code >= 400:
            raise EhrRejected(f"{url} answered {response.status_code}: {response.text[:500]}")
        log.info("ehr.resource_written", resource_type=resource["resourceType"], resource_id=resource["id"], status=response.status_code)
        return response.status_code
