"""Physician query rules: compliance lint and reminder timers.

Queries must follow the AHIMA/ACDIS *Guidelines for Achieving a Compliant Query Practice*. The
linter returns every rule a draft breaks (not just the first) so the API can refuse it with one
422 listing them all, and the same checks run on tenant templates when they are saved. Pure code:
the workflow, the API and the tests share it.
"""

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from models.coding.quotation import locate
from models.errors import InvalidRequest

QueryForm = Literal["open_ended", "multiple_choice", "yes_no"]
YesNoPurpose = Literal["confirm_documented", "present_on_admission", "cause_and_effect"]
QueryTimerEvent = Literal["reminder", "escalation", "expiry"]
QUERY_TIMER_EVENTS: tuple[QueryTimerEvent, ...] = ("reminder", "escalation", "expiry")
TEMPLATE_PLACEHOLDERS = frozenset(
    {"indicator", "indicators", "condition", "physician", "encounter_date", "service_line"}
)


@dataclass(frozen=True)
class ClinicalIndicator:
    """A fact from the record that justifies the query; the excerpt is quoted verbatim."""

    document_id: str
    excerpt: str = ""


@dataclass(frozen=True)
class QueryDraft:
    """A query as the coder wrote it. `proposed_diagnosis` is the condition a yes/no query is about."""

    question: str
    form: QueryForm = "open_ended"
    indicators: list[ClinicalIndicator] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    yes_no_purpose: YesNoPurpose | None = None
    proposed_diagnosis: str | None = None


@dataclass(frozen=True)
class QueryTemplate:
    """A tenant's reusable query wording; indicators and conditions are filled in per encounter."""

    name: str
    question: str = ""
    form: QueryForm = "open_ended"
    options: list[str] = field(default_factory=list)
    yes_no_purpose: YesNoPurpose | None = None


@dataclass(frozen=True)
class LintIssue:
    """One broken rule: a stable id for clients, the field at fault, and how to fix it."""

    rule: str
    field: str
    message: str


# Option recognition. "Other" must allow free text; the UI renders it as a text box.
_OTHER = re.compile(
    r"^\s*(?:other\b|something else\b|another\s+(?:diagnosis|condition|cause)\b)", re.I
)
_UNDETERMINED = re.compile(
    r"^\s*(?:clinically\s+)?(?:undetermined|indeterminate|unable\s+to\s+(?:be\s+)?determined?"
    r"|cannot\s+be\s+(?:clinically\s+)?determined|can['’]?t\s+be\s+determined"
    r"|not\s+(?:clinically\s+)?determinable)\b",
    re.I,
)

# Financial and quality-program language. Short acronyms are matched in upper case only, because
# lower-case "cc" is a volume ("5 cc") and words like "accurate" must never match. Acronyms that are
# also clinical (HCC = hepatocellular carcinoma, ROM = range of motion) match only in their
# payment sense ("HCC 85", "SOI/ROM").
_NB = r"(?<![A-Za-z0-9])"  # boundary that also works next to "/" and "-"
_NA = r"(?![A-Za-z0-9])"
_FINANCIAL: list[tuple[str, re.Pattern[str]]] = [
    ("dollar amount", re.compile(r"\$|\bUSD\b|\bdollars?\b", re.I)),
    ("reimbursement", re.compile(r"\breimburs\w*", re.I)),
    ("payment", re.compile(r"\bpayments?\b|\brevenue\b|\bfinancial\b", re.I)),
    ("DRG", re.compile(_NB + r"(?:MS-|APR-)?DRGs?" + _NA, re.I)),
    ("CC/MCC", re.compile(_NB + r"M?CCs?" + _NA)),
    ("CC/MCC", re.compile(r"\b(?:major\s+)?complications?\s+(?:or|and|/)\s+comorbidit", re.I)),
    ("relative weight", re.compile(r"\brelative\s+weight|" + _NB + r"RVUs?" + _NA, re.I)),
    ("case mix", re.compile(r"\bcase[\s-]mix\b|" + _NB + r"CMI" + _NA, re.I)),
    ("HCC", re.compile(_NB + r"HCCs?\s*(?:\d|categor|capture|model|code|score)", re.I)),
    ("HCC", re.compile(r"\bhierarchical\s+condition\s+categor", re.I)),
    ("risk score", re.compile(r"\brisk\s+(?:adjustment\s+)?scores?\b|" + _NB + r"RAF" + _NA, re.I)),
    ("quality score", re.compile(r"\bquality\s+(?:scores?|ratings?|metrics?)\b", re.I)),
    ("star rating", re.compile(r"\bstar\s+ratings?\b", re.I)),
    ("SOI/ROM", re.compile(_NB + r"SOI" + _NA + r"|\bSOI\s*/\s*ROM\b")),
]

# Wording that steers the physician toward one answer.
_LEADING: list[tuple[str, re.Pattern[str]]] = [
    ("asks for agreement", re.compile(r"\bdo\s+you\s+(?:not\s+)?agree\b", re.I)),
    (
        "is a tag question",
        re.compile(
            r"\b(?:wouldn|don|isn|doesn|aren|shouldn)['’]?t\s+(?:you|it|this|that|the\s+patient)\b"
            r"|,\s*(?:correct|right)\s*\?",
            re.I,
        ),
    ),
    (
        "directs what to document",
        re.compile(
            r"\bplease\s+(?:document|add|record|chart|include)\s+(?!your\b|whether\b|if\b|any\b"
            r"|the\s+(?:clinical|type|acuity|etiology|cause|underlying|significance)\b)",
            re.I,
        ),
    ),
]
_CONFIRM = re.compile(r"\b(?:can|could|would|will)\s+you\s+(?:please\s+)?confirm\b", re.I)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _is_other(option: str) -> bool:
    return bool(_OTHER.match(option))


def needs_free_text(option: str) -> bool:
    """"Other" and "clinically undetermined" answers are explained in the physician's words."""
    return _is_other(option) or _is_undetermined(option)


def is_clinical_option(option: str) -> bool:
    """An answer that commits to a documented condition: not "other", "undetermined" or "no".

    Agreement rate counts these; "other" and "undetermined" answers need a free-text note.
    """
    return not _is_other(option) and not _is_undetermined(option) and _norm(option) != "no"


def _is_undetermined(option: str) -> bool:
    return bool(_UNDETERMINED.match(option))


# Rule id -> message explaining the rule and how to rephrase; stable ids are part of the API.
QUERY_RULES: dict[str, str] = {
    "question.empty": "Write the question the physician should answer.",
    "indicators.required": "Cite at least one clinical indicator (a document of this encounter "
    "and an excerpt) that shows why the query is needed.",
    "indicators.unknown_document": "Document {doc!r} is not part of this encounter; cite the "
    "encounter's own record.",
    "indicators.excerpt_required": "Quote the excerpt of the document that supports the query.",
    "options.not_allowed": "A {form} query takes no answer options; the physician answers {how}. "
    "Use the multiple_choice form to list options.",
    "options.blank": "Remove the empty option.",
    "options.duplicate": "Option {option!r} is listed twice; each option must be distinct.",
    "multiple_choice.too_few_options": "Offer at least two clinically reasonable options supported "
    "by the indicators; a single diagnosis plus 'other' leads the physician.",
    "multiple_choice.missing_other": "Add an 'Other (please specify)' option so the physician can "
    "write another answer.",
    "multiple_choice.missing_undetermined": "Add a 'Clinically undetermined' option so the "
    "physician is never forced to choose.",
    "yes_no.purpose_required": "Yes/no queries are only for confirming a documented condition, "
    "establishing present-on-admission status, or linking a cause and effect already implied; "
    "say which.",
    "yes_no.condition_required": "Name the documented condition the yes/no question is about.",
    "yes_no.new_diagnosis": "{dx!r} is not documented in the record; a yes/no query must never "
    "introduce a new diagnosis. Use an open-ended or multiple-choice query instead.",
    "language.financial": "Mentions {terms}. Queries must not refer to reimbursement, DRG, CC/MCC, "
    "money or quality scores; describe only the clinical facts (spell out abbreviations such as "
    "'chief complaint').",
    "language.leading": "The question {why}, which leads toward one answer. Present the indicators "
    "and ask openly, e.g. 'Based on your clinical judgment, please clarify the condition being "
    "monitored and treated', or list several reasonable options.",
    "template.unknown_placeholder": "Unknown placeholder {{{{{name}}}}}; use one of {allowed}.",
}


def _issue(rule: str, where: str, **details: object) -> LintIssue:
    return LintIssue(rule, where, QUERY_RULES[rule].format(**details))


def _financial(text: str, where: str) -> list[LintIssue]:
    found = sorted({label for label, rx in _FINANCIAL if rx.search(text)})
    return [_issue("language.financial", where, terms=", ".join(found))] if found else []


def _leading(draft: QueryDraft, documented: set[str]) -> list[LintIssue]:
    why = [label for label, rx in _LEADING if rx.search(draft.question)]
    if draft.form != "yes_no" and _CONFIRM.search(draft.question):
        why.append("asks to confirm a single diagnosis (use yes/no only for documented ones)")
    dx = _norm(draft.proposed_diagnosis or "")
    if draft.form == "open_ended" and dx and dx not in documented and dx in _norm(draft.question):
        why.append(f"names a single undocumented diagnosis ({draft.proposed_diagnosis!r})")
    return [_issue("language.leading", "question", why=w) for w in why]


def _options(draft: QueryDraft) -> list[LintIssue]:
    opts = draft.options
    if draft.form != "multiple_choice":
        how = "in free text" if draft.form == "open_ended" else "yes, no, other or undetermined"
        return [_issue("options.not_allowed", "options", form=draft.form, how=how)] if opts else []
    issues: list[LintIssue] = []
    seen: set[str] = set()
    for i, option in enumerate(opts):
        key = _norm(option)
        if not key:
            issues.append(_issue("options.blank", f"options[{i}]"))
        elif key in seen:
            issues.append(_issue("options.duplicate", f"options[{i}]", option=option))
        seen.add(key)
    clinical = {_norm(o) for o in opts if _norm(o) and not _is_other(o) and not _is_undetermined(o)}
    if len(clinical) < 2:
        issues.append(_issue("multiple_choice.too_few_options", "options"))
    if not any(_is_other(o) for o in opts):
        issues.append(_issue("multiple_choice.missing_other", "options"))
    if not any(_is_undetermined(o) for o in opts):
        issues.append(_issue("multiple_choice.missing_undetermined", "options"))
    return issues


def _yes_no(draft: QueryDraft, documented: set[str]) -> list[LintIssue]:
    if draft.form != "yes_no":
        return []
    issues: list[LintIssue] = []
    if draft.yes_no_purpose is None:
        issues.append(_issue("yes_no.purpose_required", "yes_no_purpose"))
    dx = draft.proposed_diagnosis
    if not dx or not dx.strip():
        issues.append(_issue("yes_no.condition_required", "proposed_diagnosis"))
    elif _norm(dx) not in documented:
        issues.append(_issue("yes_no.new_diagnosis", "proposed_diagnosis", dx=dx))
    return issues


def _indicators(draft: QueryDraft, document_ids: Collection[str] | None) -> list[LintIssue]:
    if not draft.indicators:
        return [_issue("indicators.required", "indicators")]
    issues: list[LintIssue] = []
    for i, ind in enumerate(draft.indicators):
        if document_ids is not None and ind.document_id not in document_ids:
            where = f"indicators[{i}].document_id"
            issues.append(_issue("indicators.unknown_document", where, doc=ind.document_id))
        if not ind.excerpt.strip():
            issues.append(_issue("indicators.excerpt_required", f"indicators[{i}].excerpt"))
    return issues


def lint_query(
    draft: QueryDraft,
    *,
    documented_conditions: Collection[str] = (),
    document_ids: Collection[str] | None = None,
) -> list[LintIssue]:
    """Return every compliance rule `draft` breaks; an empty list means it may be sent.

    Language rules look at the question and options, the coder's own words. Indicator excerpts are
    verbatim record text (which legitimately holds "CC:" for chief complaint or "5 cc"), so they
    are not language-linted; the caller should check that each excerpt occurs in its document.
    """
    documented = {_norm(c) for c in documented_conditions}
    issues: list[LintIssue] = []
    if not draft.question.strip():
        issues.append(_issue("question.empty", "question"))
    issues += _indicators(draft, document_ids)
    issues += _options(draft)
    issues += _yes_no(draft, documented)
    issues += _financial(draft.question, "question")
    for i, option in enumerate(draft.options):
        issues += _financial(option, f"options[{i}]")
    issues += _leading(draft, documented)
    return issues


def lint_template(template: QueryTemplate) -> list[LintIssue]:
    """Lint a tenant template on save with the query rules that can apply before use.

    Placeholders are replaced by their own names, so "Please document {{condition}}" is still
    caught as leading. Indicators and the yes/no condition are only known per encounter, so those
    rules run when the filled-in query is sent, not here.
    """
    texts = {"question": template.question} | {
        f"options[{i}]": o for i, o in enumerate(template.options)
    }
    allowed = sorted(TEMPLATE_PLACEHOLDERS)
    issues = [
        _issue("template.unknown_placeholder", where, name=name, allowed=allowed)
        for where, text in texts.items()
        for name in _PLACEHOLDER.findall(text)
        if name not in TEMPLATE_PLACEHOLDERS
    ]

    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: m.group(1).replace("_", " "), text)

    draft = QueryDraft(
        question=fill(template.question),
        form=template.form,
        indicators=[ClinicalIndicator("{{indicator}}", "{{indicator}}")],
        options=[fill(o) for o in template.options],
        yes_no_purpose=template.yes_no_purpose,
    )
    deferred = {"yes_no.condition_required", "yes_no.new_diagnosis"}
    return issues + [i for i in lint_query(draft) if i.rule not in deferred]


@dataclass(frozen=True)
class QueryTimers:
    """Per-tenant query deadlines, measured from when the query was opened.

    Temporal's default JSON converter cannot encode timedelta, so carry tenant settings as hours
    in payloads and build this inside the workflow with `from_hours`.
    """

    reminder_after: timedelta = timedelta(hours=24)
    escalate_after: timedelta = timedelta(hours=48)
    expire_after: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        if not timedelta(0) < self.reminder_after <= self.escalate_after <= self.expire_after:
            raise ValueError("query timers need 0 < reminder <= escalation <= expiry")

    @classmethod
    def from_hours(cls, reminder: float, escalate: float, expire: float) -> "QueryTimers":
        return cls(timedelta(hours=reminder), timedelta(hours=escalate), timedelta(hours=expire))

    def due(self, event: QueryTimerEvent) -> timedelta:
        return {
            "reminder": self.reminder_after,
            "escalation": self.escalate_after,
            "expiry": self.expire_after,
        }[event]


def next_query_timer(
    opened_at: datetime, now: datetime, timers: QueryTimers, fired: Collection[str]
) -> tuple[QueryTimerEvent, datetime] | None:
    """Return the next timer event to fire and when, or None once expiry has fired.

    Events fire in order reminder → escalation → expiry; anything before the last fired event is
    skipped. If a workflow wakes up late with several events overdue, only the latest overdue one
    is returned, so a physician is not sent a reminder and an escalation at the same moment. The
    caller sleeps until the returned time (no sleep if it is already past) and adds the name to
    `fired`.
    """
    last = max((QUERY_TIMER_EVENTS.index(e) for e in fired if e in QUERY_TIMER_EVENTS), default=-1)
    pending = [(e, opened_at + timers.due(e)) for e in QUERY_TIMER_EVENTS[last + 1 :]]
    if not pending:
        return None
    overdue = [p for p in pending if p[1] <= now]
    return overdue[-1] if overdue else pending[0]


# A yes/no query offers these answers; "other" and "clinically undetermined" keep it compliant.
YES_NO_OPTIONS = ["Yes", "No", "Other (please specify)", "Clinically undetermined"]


def offered_options(form: str, option_texts: Sequence[str | None]) -> list[str | None]:
    """The answers a physician chooses from: the coder's options, the fixed yes/no set, or none."""
    return list(option_texts) if form == "multiple_choice" else (list(YES_NO_OPTIONS) if form == "yes_no" else [])


def excerpt_issues(indicators: Sequence[ClinicalIndicator], documents: Mapping[str, str]) -> list[LintIssue]:
    """Each indicator must quote its cited document verbatim (only whitespace may differ)."""
    return [
        LintIssue("indicators.excerpt_not_in_document", f"indicators[{n}].excerpt",
                  "The excerpt does not occur in the cited document; quote the record verbatim (only whitespace may differ).")
        for n, i in enumerate(indicators)
        if documents.get(i.document_id) and locate(i.excerpt, documents[i.document_id]) is None
    ]  # fmt: skip


def review_draft(draft: QueryDraft, documents: Mapping[str, str]) -> list[LintIssue]:
    """Every compliance rule on a draft against the chart's documents (id → text); empty = compliant.

    The proposed diagnosis counts as documented when a document mentions it."""
    proposed = draft.proposed_diagnosis or ""
    documented = [proposed] if proposed and any(proposed.lower() in t.lower() for t in documents.values()) else []
    return lint_query(draft, documented_conditions=documented, document_ids=set(documents)) + excerpt_issues(draft.indicators, documents)


def lint_refusal(issues: list[LintIssue]) -> InvalidRequest:
    """The refusal of a non-compliant query: every broken rule, named."""
    return InvalidRequest(
        f"the query is not compliant ({len(issues)} rule(s)): " + " ".join(f"[{i.rule}] {i.message}" for i in issues),
        errors=[{"rule": i.rule, "field": i.field, "message": i.message} for i in issues],
    )
