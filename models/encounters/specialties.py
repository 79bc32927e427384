"""SNOMED CT practice-setting codes (the FHIR c80 practice codes value set) and their display names."""

import re
from collections.abc import Mapping

SPECIALTIES: Mapping[str, str] = {
    "394802001": "General medicine",
    "394814009": "General practice",
    "419772000": "Family practice",
    "408443003": "General medical practice",
    "394579002": "Cardiology",
    "394582007": "Dermatology",
    "394583002": "Endocrinology",
    "394584008": "Gastroenterology",
    "394585009": "Obstetrics and gynecology",
    "394589003": "Nephrology",
    "394591006": "Neurology",
    "394592004": "Clinical oncology",
    "394594003": "Ophthalmology",
    "394537008": "Pediatric specialty",
    "394587001": "Psychiatry",
    "394609007": "General surgery",
    "394610002": "Neurosurgery",
    "394612005": "Urology",
    "394801008": "Trauma and orthopedics",
    "394576009": "Accident and emergency",
    "408478003": "Critical care medicine",
    "394577000": "Anesthetics",
    "394914008": "Radiology",
    "394590007": "Thoracic medicine",
}
_CODE = re.compile(r"\b\d{6,18}\b")


def specialty_name(code: str | None) -> str:
    """The display name, or the code itself when the table does not know it."""
    if not code:
        return "—"
    return SPECIALTIES.get(code, code)


def with_specialty_names(text: str) -> str:
    """Any known SNOMED specialty code in `text` replaced by its name (for strata like 'specialty=394802001')."""
    return _CODE.sub(lambda m: SPECIALTIES.get(m[0], m[0]), str(text))
