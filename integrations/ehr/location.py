"""Where an encounter took place: the Location its `Encounter.location` names, for the 837P's
service facility loop (2310C).

Only a Location resolved inside the bundle with a name and a full street address counts; a bare
reference or display text is not an address, and the claim never guesses one (it then carries no
2310C, which tells the payer the service was rendered at the billing provider's address).
"""

from __future__ import annotations

from integrations.ehr.fhir import NPI_SYSTEM, identifier_value, nonblank, obj, objs
from integrations.ehr.references import BundleIndex, Located
from integrations.ehr.schemas import FacilityIn

_SKIPPED = frozenset({"planned", "reserved"})


def service_location(index: BundleIndex, encounter: Located) -> FacilityIn | None:
    """The first location the patient was actually at, as name, address and NPI (if any)."""
    for entry in objs(encounter.resource.get("location")):
        if nonblank(entry.get("status")) in _SKIPPED:
            continue
        ref = nonblank((obj(entry.get("location")) or {}).get("reference"))
        found = index.resolve(ref, encounter) if ref else None
        if found is None or found.type != "Location":
            continue
        res, address = found.resource, obj(found.resource.get("address")) or {}
        lines = [line for line in (nonblank(x) for x in address.get("line") or []) if line]
        name, city, state = nonblank(res.get("name")), nonblank(address.get("city")), nonblank(address.get("state"))
        postal = nonblank(address.get("postalCode"))
        if name and lines and city and state and postal:
            return FacilityIn(name, lines[0], city, state, postal, lines[1] if len(lines) > 1 else None,
                              identifier_value(res.get("identifier"), system=NPI_SYSTEM))  # fmt: skip
    return None
