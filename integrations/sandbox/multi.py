"""Many encounters in one FHIR transaction Bundle, as an EHR's batch export sends them."""

import time
from typing import Any

from integrations.sandbox.bundles import synthetic_bundle


def multi_encounter_bundle(count: int, prefix: str, **kwargs: Any) -> dict[str, Any]:
    """`count` synthetic encounters (`{prefix}-{i}`); shared resources (payer, clinic) appear once."""
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    bundle: dict[str, Any] = {}
    for i in range(count):
        bundle = synthetic_bundle(encounter_id=f"{prefix}-{i}", patient_id=f"{prefix}-pt-{i}", **kwargs)
        for entry in bundle["entry"]:
            if entry["fullUrl"] not in seen:
                seen.add(entry["fullUrl"])
                entries.append(entry)
    return {**bundle, "entry": entries}


if __name__ == "__main__":
    from integrations.ehr.bundle import parse_bundle

    began = time.perf_counter()
    b = multi_encounter_bundle(1000, "x")
    made = time.perf_counter()
    n = len(parse_bundle(b))
    print(n, f"build {made - began:.2f}s parse {time.perf_counter() - made:.2f}s")  # noqa: T201
