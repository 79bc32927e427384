"""The CMS/NCHS ICD-10-CM order file ("Code Descriptions in Tabular Order", icd10cm_order_YYYY.txt).

Fixed width, one code or header per line: columns 1-5 order number, 7-13 the code without its
dot (left-justified), 15 the flag (1: valid for HIPAA transactions, i.e. billable; 0: a
header), 17-76 the short description, 78 onward the long description.
"""

import re
from collections.abc import Iterable

from integrations.codesets.icd10cm import Icd10Entry

_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z]([0-9A-Z]{1,4})?$")
_ORDER = re.compile(r"^\d{5}$")


class OrderFileError(ValueError):
    """A line that is not in the order file's layout; names the line so the operator can look."""


def with_dot(code: str) -> str:
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def parse_order_file(lines: Iterable[str]) -> list[Icd10Entry]:
    """Every code of the file; refuses the whole file at its first malformed line."""
    entries: list[Icd10Entry] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        order, code, flag = line[0:5], line[6:13].strip(), line[14:15]
        if not _ORDER.match(order) or line[5:6] != " " or not _CODE.match(code) or flag not in ("0", "1"):
            raise OrderFileError(
                f"line {number} is not an ICD-10-CM order-file line (expected 'NNNNN CODE    F short… long…'): {line[:40]!r}; "
                "use icd10cm_order_YYYY.txt from the CMS 'Code Descriptions in Tabular Order' download"
            )
        description = (line[77:] if len(line) > 77 else line[16:76]).strip()
        if not description:
            raise OrderFileError(f"line {number}: code {code} has no description")
        entries.append(Icd10Entry(with_dot(code), description, flag == "1"))
    if not entries:
        raise OrderFileError("the file holds no ICD-10-CM codes")
    return entries
