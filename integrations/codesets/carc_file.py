"""The operator's CARC/RARC root-cause file (CSV) read into a validated table."""

import csv
from pathlib import Path

from models.claims.denials import CarcTable


def read_carc_csv(path: Path, version: str) -> CarcTable:
    """Columns: kind (carc|rarc), code, category (blank = not a denial), refinable (y/n).

    Validated whole before anything is written: an unknown category is an error naming its row.
    """
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    return CarcTable.from_rows(version, rows)
