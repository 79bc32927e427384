"""The code-set catalog the coding rules run against (`models.coding.rules.CodeCatalog`).

One object answers every code-set question for a tenant: ICD-10-CM by release, HCPCS Level II
from a loaded table, the real modifier list, and CPT by membership only when the tenant loaded
its licensed CPT code list (we never ship CPT codes or descriptors).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

from integrations.codesets import modifiers
from integrations.codesets.hcpcs import HcpcsTable
from integrations.codesets.icd10cm import Icd10cm, SearchHit
from models.coding.rules import CodeCatalog, Icd10Status, normalize_procedure


class StaticCatalog(CodeCatalog):
    """In-memory code sets; cheap to query, safe to share between threads once loaded."""

    def __init__(
        self,
        cpt_codes: frozenset[str] | None = None,
        hcpcs: HcpcsTable | None = None,
        *,
        icd10cm: Icd10cm | None = None,
    ) -> None:
        self.cpt_codes = (
            frozenset(normalize_procedure(c) for c in cpt_codes) if cpt_codes is not None else None
        )
        self.hcpcs = hcpcs if hcpcs is not None else HcpcsTable.sample()
        self.icd10cm = icd10cm if icd10cm is not None else Icd10cm()

    def with_cpt_codes(self, cpt_codes: Iterable[str] | None) -> StaticCatalog:
        """The same code sets with a tenant's CPT list (shares the loaded ICD-10-CM data)."""
        codes = frozenset(cpt_codes) if cpt_codes is not None else None
        return StaticCatalog(codes, self.hcpcs, icd10cm=self.icd10cm)

    def icd10cm_status(self, code: str, on: date) -> Icd10Status:
        return self.icd10cm.status(code, on)

    def icd10cm_description(self, code: str) -> str | None:
        return self.icd10cm.description(code)

    def icd10cm_search(self, text_or_prefix: str, limit: int = 20) -> list[SearchHit]:
        return self.icd10cm.search(text_or_prefix, limit)

    def is_hcpcs(self, code: str, on: date) -> bool:
        return self.hcpcs.is_active(code, on)

    def hcpcs_description(self, code: str) -> str | None:
        return self.hcpcs.description(code)

    def is_cpt_known(self, code: str) -> bool | None:
        if self.cpt_codes is None:
            return None
        return normalize_procedure(code) in self.cpt_codes

    def is_modifier(self, code: str) -> bool:
        return modifiers.is_modifier(code)


@lru_cache(maxsize=1)
def default_catalog() -> StaticCatalog:
    """The shipped code sets, no tenant CPT list (CPT checked by format only); loaded once."""
    return StaticCatalog()


def warm_catalog() -> None:
    """Load the ICD-10-CM tables now (about 2 s), so the first coding request does not wait."""
    catalog = default_catalog()
    catalog.icd10cm_status("I10", date(2026, 1, 1))
