"""Real code sets for coding validation: ICD-10-CM, HCPCS Level II, modifiers, tenant CPT."""

from integrations.codesets.catalog import StaticCatalog, default_catalog
from integrations.codesets.hcpcs import HcpcsCode, HcpcsTable, HcpcsTableError
from integrations.codesets.icd10cm import (
    SHIPPED_RELEASE,
    SHIPPED_SOURCE,
    Icd10cm,
    Icd10Entry,
    Icd10Table,
    Release,
    fiscal_year_of,
)
from integrations.codesets.modifiers import describe_modifier, is_modifier

__all__ = [
    "SHIPPED_RELEASE",
    "SHIPPED_SOURCE",
    "HcpcsCode",
    "HcpcsTable",
    "HcpcsTableError",
    "Icd10Entry",
    "Icd10Table",
    "Icd10cm",
    "Release",
    "StaticCatalog",
    "default_catalog",
    "describe_modifier",
    "fiscal_year_of",
    "is_modifier",
]
