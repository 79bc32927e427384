"""The web pages' chart lists: the query string as a filter; the reads are in
`models/repositories/chart_lists.py`, always built on the API's row filter."""

import uuid
from datetime import date

from models.repositories.chart_lists import ChartFilter as ChartFilter
from models.repositories.chart_lists import charts as charts
from models.repositories.chart_lists import turnaround as turnaround


def chart_filter(
    status: str | None = None,
    queue: str | None = None,
    overdue: bool | None = None,
    active: bool = False,
    hold_reason: str | None = None,
    query_age: str | None = None,
    hold_age: str | None = None,
    coded_on: date | None = None,
    vendor: str | None = None,
    payer: str | None = None,
    scrub_rule: str | None = None,
    rework: bool = False,
    denial_category: str | None = None,
    denial_payer: str | None = None,
    audit_coder: str | None = None,
    audit_vendor: str | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
) -> ChartFilter:
    """The encounter list's query string as a filter (a form's empty fields mean "any")."""
    return ChartFilter(
        status or None, queue or None, overdue, active, hold_reason or None, query_age or None, hold_age or None,
        coded_on, vendor or None, payer or None, scrub_rule or None, rework, denial_category or None,
        denial_payer or None, audit_coder or None, audit_vendor or None, received_from, received_to,
    )  # fmt: skip


def parse_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
