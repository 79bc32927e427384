"""The lexical suggestion engine: tabular terms matched sentence by sentence, ConText applied.

A term matches a sentence when every required word occurs in a short window of it. A match
whose words are a strict subset of an overlapping match's is dropped (the longest, most
specific match wins: "diabetes mellitus with hyperglycemia" keeps E11.65, not E11.9). medspaCy's
ConText then removes negated, hypothetical and uncertain mentions, and turns historical and family
ones into their personal or family history codes (`status`). No model is loaded: the pipeline is
a blank spaCy tokenizer plus ConText's default rules and a few of ours.
"""

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any

import structlog
from spacy.lang.en.stop_words import STOP_WORDS

from integrations.cac.lexicon import GENERIC, WEAK, WORD, Lexicon, Term, normalize, stems, words
from integrations.cac.status import (
    family_history_code,
    lifelong,
    long_term_drugs,
    personal_history_code,
)
from integrations.codesets import SHIPPED_RELEASE, Icd10cm
from models.coding.suggestions import NoteDocument, Reason, Suggestion, SupportSpan

log = structlog.get_logger(__name__)

RULES_VERSION = "3"
SPAN_GROUP = "cac_mentions"
MAX_SPANS_PER_CODE = 3
GENERIC_WEIGHT = 0.5  # see lexicon.GENERIC
SUBSUMED = 0.3  # a match inside a longer one of another category: a weaker alternative reading
# A term found without one of its words (its most common one) is a weak reading: ranked well below
# full matches, it fills the end of the list rather than being dropped ("colic" alone for "renal
# colic", "aortic stenosis" for "nonrheumatic aortic stenosis" is a full match already).
PARTIAL = 0.05
PARTIAL_MIN_WORDS = 2  # a partial match needs a term of at least this many required words
PARTIAL_MAX_MISSING = 1
PARTIAL_COMMON_ONLY = True
WEIGHT_POWER = 1.0
TIGHT_FLOOR = 0.5  # a match spread over a long window counts down to half a tight one
ALTERNATIVE = 0.1  # the same words read as a code of another category: a weaker alternative
# "Malignant neoplasm, unspecified" is for a primary site that cannot be determined: not proposed
# beside a malignant neoplasm of a named primary site.
UNKNOWN_PRIMARY = "C80.1"
_MALIGNANT = stems(["malignant", "neoplasm"])
_MASS = stems(["neoplasm", "mass"])
_SITELESS = _MASS | GENERIC | WEAK | stems(["benign", "uncertain", "behavior", "unspecified", "solid", "cystic"])


def _named_primary(code: str) -> bool:
    return code[0] == "C" and code[:3] < "C77" and code[:3] != "C76"  # C76: ill-defined sites
REPEAT_WEIGHT = 0.5  # a code found N times gains REPEAT_WEIGHT * log(N)
_REASON_WEIGHT = {"description": 1.0, "inclusion_term": 0.95, "category_description": 0.9, "index_term": 0.9}
# A past or a relative's condition becomes its history code, and a medicine the patient is on its
# long-term drug therapy code: status codes, ranked below the conditions the note is about.
HISTORY_WEIGHT = 0.3
DRUG_WEIGHT = 3.0  # the score of a long-term drug therapy mention
# Words saying the patient is on a medicine (the drug's sentence must hold one).
THERAPY_CUES = frozenset(
    n for w in ("treatment", "treated", "therapy", "taking", "takes", "receiving", "usual", "chronic",
                "maintenance", "dependent", "regimen", "medication") for n in normalize(w)
)
# Words of the case narrative (time, age, the hospital stay, imaging): a term found by one of them
# alone is not a reading of the note ("days" is no "day blindness", "year-old" no "old age").
NARRATIVE = stems(
    ["hour", "day", "week", "month", "year", "old", "time", "postoperative", "preoperative", "discharge",
     "discharged", "emergency", "blood", "double", "space", "microscopic", "macroscopic", "microscopically",
     "macroscopically", "isolated", "general", "volume", "level", "normal", "area", "side", "magnetic",
     "resonance"]
)
_VAGUE = GENERIC | WEAK | NARRATIVE
_COMMON_ENGLISH = stems(STOP_WORDS)  # spaCy's English stop words
# ConText attributes that keep a mention from being a current diagnosis of this patient.
EXCLUDING = ("is_negated", "is_hypothetical", "is_historical", "is_family", "is_uncertain")
# A ConText category of ours: the condition is under treatment, so a "history of" it is current.
TREATED = "CURRENT_TREATMENT"


@dataclass(frozen=True)
class Mention:
    term: Term
    first: int  # token indexes, inclusive
    last: int
    score: float
    words: frozenset[str]  # the required words found (all of them unless the match is partial)


def _subsumes(big: Mention, small: Mention) -> bool:
    """A longer match over the same place wins over the shorter one it contains."""
    return small.words < big.words and big.first <= small.last and small.first <= big.last


class LexicalEngine:
    """Thread-safe for `suggest`: the spaCy pipeline is shared behind a lock."""

    def __init__(self, lexicon: Lexicon, codes: Icd10cm | None = None, *, exclude: Sequence[str] = EXCLUDING) -> None:
        import medspacy
        import spacy

        self._lexicon = lexicon
        self._codes = codes
        self._exclude = tuple(exclude)
        self._nlp = spacy.blank("en")
        self._context = self._nlp.add_pipe(
            "medspacy_context",
            config={"rules": "default", "input_span_type": "group", "span_group_name": SPAN_GROUP},
        )
        self._context.add([*_clause_ends(), *_pseudo_triggers(), *_treatment_triggers(), *_prefix_triggers()])  # type: ignore[attr-defined]
        self._drugs = {drug: frozenset(words(drug)) for drug in long_term_drugs()}
        self._drug_codes = long_term_drugs()
        self._lock = threading.Lock()
        self._version = f"lexical-{RULES_VERSION}+icd10cm-{lexicon.release}+medspacy-{medspacy.__version__}"

    @property
    def version(self) -> str:
        return self._version

    @property
    def lexicon(self) -> Lexicon:
        return self._lexicon

    def suggest(
        self, documents: Sequence[NoteDocument], *, date_of_service: date | None = None, limit: int = 20
    ) -> list[Suggestion]:
        found: dict[str, list[tuple[Mention, SupportSpan]]] = {}
        for document in documents:
            for mention, span in self._mentions(document):
                found.setdefault(mention.term.code, []).append((mention, span))
        table = None
        if self._codes is not None:
            table = self._codes.table_for(date_of_service) if date_of_service else self._codes.table_for(date.max)
            if table is None:
                return []
        if UNKNOWN_PRIMARY in found and not any(_named_primary(c) for c in found):
            self._site_from_mass(found)
        if any(_named_primary(c) for c in found):
            found.pop(UNKNOWN_PRIMARY, None)  # the primary site is documented
        ranked: list[Suggestion] = []
        for code, mentions in found.items():
            if table is not None and not ((entry := table.get(code)) and entry.billable):
                continue
            mentions.sort(key=lambda m: -m[0].score)
            best = mentions[0][0]
            score = best.score + REPEAT_WEIGHT * math.log(len(mentions))
            spans: list[SupportSpan] = []
            for _, span in mentions:
                if all(span.start != s.start or span.document_id != s.document_id for s in spans):
                    spans.append(span)
                if len(spans) == MAX_SPANS_PER_CODE:
                    break
            ranked.append(
                Suggestion(
                    code=code,
                    description=self._lexicon.descriptions.get(code, best.term.text),
                    confidence=round(1 - math.exp(-score / 12), 3),
                    reason=best.term.reason,
                    matched_term=best.term.text,
                    spans=spans,
                    engine_version=self._version,
                )
            )
        ranked.sort(key=lambda s: (-s.confidence, s.code))
        return ranked[:limit]

    def _mentions(self, document: NoteDocument) -> list[tuple[Mention, SupportSpan]]:
        text = document.text
        with self._lock:
            doc = self._nlp.make_doc(text)
            _mark_sentences(doc)
            mentions: list[Mention] = []
            for sent in doc.sents:
                mentions.extend(self._match_sentence(sent))
            doc.spans[SPAN_GROUP] = [doc[m.first : m.last + 1] for m in mentions]
            doc = self._context(doc)
            kept = [
                (status, span)
                for m, span in zip(mentions, doc.spans[SPAN_GROUP], strict=True)
                if (status := self._status(m, span)) is not None
            ]
        return [
            (m, SupportSpan(document.document_id, span.start_char, span.end_char, text[span.start_char : span.end_char]))
            for m, span in kept
        ]

    def _site_from_mass(self, found: dict[str, list[tuple[Mention, SupportSpan]]]) -> None:
        """A malignancy named without its site ("urothelial carcinoma") and a mass or neoplasm of a
        named organ elsewhere in the note ("a mass in the renal pelvis"): the Neoplasm Table's
        malignant primary code of that organ, ranked as the malignancy was."""
        cancer, cancer_span = max(found[UNKNOWN_PRIMARY], key=lambda m: m[0].score)
        masses = [
            (m, span, m.words - _SITELESS)
            for code, mentions in found.items()
            if not code.startswith("C")
            for m, span in mentions
            if m.words & _MASS and m.words - _SITELESS
        ]
        for mass, span, site in sorted(masses, key=lambda m: -m[0].score):
            term = self._primary_site(site)
            if term is not None:
                found[term.code] = [(replace(cancer, term=term), cancer_span), (replace(mass, term=term, score=cancer.score), span)]
                return

    def _primary_site(self, site: frozenset[str]) -> Term | None:
        """The tabular list's malignant neoplasm term that names these site words and no others."""
        wanted = _MALIGNANT | site
        candidates = [
            term
            for w in site
            for index in self._lexicon.anchors.get(w, ())
            if _named_primary((term := self._lexicon.terms[index]).code) and _MALIGNANT <= term.required <= wanted
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda t: (len(t.required & site), -t.preference[0], -t.preference[1], t.code))

    def _status(self, mention: Mention, span: Any) -> Mention | None:
        """The mention as it stands in the patient's present: itself when current, its personal
        or family history code when past or a relative's, nothing when negated or hypothetical."""
        ex = self._exclude
        if any(getattr(span._, attr) for attr in ex if attr not in ("is_historical", "is_family")):
            return None
        term = mention.term
        reason: Reason
        if "is_family" in ex and span._.is_family:
            code, reason = family_history_code(term.code), "family_history"
        elif "is_historical" in ex and span._.is_historical:
            if lifelong(term.code) or any(mod.category == TREATED for mod in span._.modifiers):
                return mention  # lifelong, or treated now: a current condition, not a history code
            code, reason = personal_history_code(term.code), "personal_history"
        else:
            return mention
        if code is None:
            return None
        status = replace(term, code=code, reason=reason)
        return replace(mention, term=status, score=mention.score * HISTORY_WEIGHT)

    def _drug_therapy(self, positions: dict[str, list[int]]) -> list[Mention]:
        """Medicines the sentence says the patient is on → long-term drug therapy (Z79) codes."""
        if not THERAPY_CUES & positions.keys():
            return []
        found: list[Mention] = []
        for drug, required in self._drugs.items():
            if required and required <= positions.keys():
                window = _window(required, positions)
                if window is not None and window[1] - window[0] < len(required) + 1:
                    term = Term(self._drug_codes[drug], drug, "drug_therapy", required, required, DRUG_WEIGHT)
                    found.append(Mention(term, window[0], window[1], DRUG_WEIGHT, required))
        return found

    def _match_sentence(self, sent: Any) -> list[Mention]:
        positions: dict[str, list[int]] = {}
        for token in sent:
            for raw in WORD.findall(token.lower_):
                for w in normalize(raw):
                    positions.setdefault(w, []).append(token.i)
        present = positions.keys()
        lex = self._lexicon
        exact: list[Mention] = []
        partial: list[Mention] = []
        for w in present:
            for index in lex.anchors.get(w, ()):
                term = lex.terms[index]
                missing = term.required - present
                if len(missing) > PARTIAL_MAX_MISSING or (missing and len(term.required) < PARTIAL_MIN_WORDS + len(missing) - 1):
                    continue
                matched = term.required - missing
                if missing and (matched <= _VAGUE or matched <= _COMMON_ENGLISH):
                    continue  # "findings", "injury" or "her" alone names nothing
                if missing and PARTIAL_COMMON_ONLY and max(lex.idf[m] for m in missing) > min(lex.idf[m] for m in matched):
                    continue  # a partial match may only lack the term's most common words
                window = _window(matched, positions)
                if window is None or window[1] - window[0] + 1 > 2 * len(term.required) + 3:
                    continue
                coverage = len(term.all_words & present) / len(term.all_words)
                span = window[1] - window[0] + 1
                tight = 1.0 if span <= len(matched) + 1 else TIGHT_FLOOR + (1 - TIGHT_FLOOR) * (len(matched) + 1) / span
                score = term.weight**WEIGHT_POWER * (0.7 + 0.3 * coverage) * tight * _REASON_WEIGHT[term.reason]
                if term.required <= GENERIC:
                    score *= GENERIC_WEIGHT
                if missing:
                    lost = math.fsum(lex.idf[m] for m in missing)
                    partial.append(Mention(term, window[0], window[1], PARTIAL * (term.weight - lost) ** WEIGHT_POWER, matched))
                else:
                    exact.append(Mention(term, window[0], window[1], score, matched))
        kept: list[Mention] = []
        for m in exact:
            bigger = [o for o in exact if _subsumes(o, m)]
            if not bigger:
                kept.append(m)
            elif all(o.term.code[:3] != m.term.code[:3] for o in bigger):
                # A shorter reading in another category ("carcinoma" inside "renal cell carcinoma")
                # stays as a weaker alternative, ranked well below; in the same category the more
                # specific code simply wins (E11.65 over E11.9).
                kept.append(replace(m, score=m.score * SUBSUMED))
        kept += [
            m
            for m in partial
            if not any(o.first <= m.last and m.first <= o.last for o in exact)
            and not any(_subsumes(o, m) for o in partial)
        ]
        # The same words at the same place: one code, the best-fitting term's (never "Other …" first).
        best: dict[tuple[frozenset[str], int, int], Mention] = {}
        for m in kept:
            key = (m.words, m.first, m.last)
            if key not in best or (-m.term.preference[0], m.score) > (-best[key].term.preference[0], best[key].score):
                best[key] = m
        chosen = list(best.values())
        if ALTERNATIVE > 0:  # other categories the same words can be read as stay, ranked well below
            taken = {(m.words, m.first, m.last, m.term.code[:3]) for m in chosen}
            for m in kept:
                key4 = (m.words, m.first, m.last, m.term.code[:3])
                if key4 not in taken:
                    taken.add(key4)
                    chosen.append(replace(m, score=m.score * ALTERNATIVE))
        return chosen + self._drug_therapy(positions) + _unnamed_illness(sent, exact)


# Words that open a new clause about the present episode: a negation or a history trigger before
# them does not reach past them ("with no history of interest, presented with melena", "a history
# of hypertension, who came in after finding a tumor").
CLAUSE_ENDS = (
    "presented with", "presents with", "presenting with", "presented to", "presents to", "consulted",
    "consults", "came", "comes", "was admitted",
    "were admitted", "developed", "who", "adding", "complaining", "showed", "shows",
    "revealed", "reveals", "currently",
    # NegEx's conjunctions that end a trigger's scope.
    "except", "however", "although", "though", "whereas", "while", "which", "still", "nevertheless",
)
_CONTEXT_KINDS = ("NEGATED_EXISTENCE", "HISTORICAL", "FAMILY", "POSSIBLE_EXISTENCE", "HYPOTHETICAL")


def _clause_ends() -> list[Any]:
    from medspacy.context import ConTextRule

    return [ConTextRule(word, kind, direction="TERMINATE") for word in CLAUSE_ENDS for kind in _CONTEXT_KINDS]


# "Disease" or "illness" that no term around it names ("the disease progressed", "current illness"):
# the Alphabetic Index's "Illness" (R69), a weak reading ranked with the vague findings.
ILLNESS_CODE = "R69"
ILLNESS_WORDS = frozenset(["disease", "diseases", "illness", "illnesses"])
ILLNESS_WEIGHT = 3.0


def _unnamed_illness(sent: Any, exact: list[Mention]) -> list[Mention]:
    found: list[Mention] = []
    for token in sent:
        if token.lower_ in ILLNESS_WORDS and not any(m.first <= token.i <= m.last for m in exact):
            words = frozenset(normalize(token.lower_))
            term = Term(ILLNESS_CODE, token.lower_, "index_term", words, words, ILLNESS_WEIGHT)
            found.append(Mention(term, token.i, token.i, ILLNESS_WEIGHT, words))
    return found


# Phrases that look like a trigger and are not one (NegEx's pseudo-triggers): "a 3-month history of
# pain" dates the present complaint, "no history of interest" closes on itself, the "free wall" of a
# ventricle is anatomy.
_DURATION = {"LOWER": {"REGEX": r"^(hours?|days?|weeks?|months?|years?)$"}}
PSEUDO_TRIGGERS: tuple[tuple[str, str, list[dict[str, Any]]], ...] = (
    ("<n> <unit> history", "HISTORICAL", [{"LIKE_NUM": True}, {"TEXT": "-", "OP": "?"}, _DURATION, {"LOWER": "history"}]),
    ("<unit>-long history", "HISTORICAL", [_DURATION, {"TEXT": "-", "OP": "?"}, {"LOWER": "long"}, {"LOWER": "history"}]),
    ("no history of interest", "NEGATED_EXISTENCE", [
        {"LOWER": {"IN": ["no", "without"]}}, {"LOWER": {"IN": ["other", "previous", "relevant", "medical", "personal", "past", "known"]}, "OP": "*"},
        {"LOWER": {"IN": ["history", "histories", "antecedents", "background"]}}, {"LOWER": "of", "OP": "?"}, {"LOWER": {"IN": ["interest", "note", "significance"]}},
    ]),
    ("free wall", "NEGATED_EXISTENCE", [{"LOWER": "free"}, {"LOWER": "wall"}]),
)
# Phrases saying a condition is treated now ("hypertension under treatment", "history of diabetes
# treated with metformin"): a history mention they reach is current (ICD-10-CM's history codes are
# for conditions that no longer exist and are no longer treated).
TREATMENT_AFTER = (
    "under treatment", "in treatment", "on treatment", "under medical treatment", "in medical treatment",
    "treated with", "controlled with", "controlled by", "controlled", "on medication", "receiving treatment",
)
TREATMENT_BEFORE = ("treated for", "under treatment for", "in treatment for", "on treatment for", "pharmacologically controlled")


# Prefixes and verbs that make the next word or two past or absent: an "ex-smoker" or "former
# drinker" has a history of it, a "non-smoker" does not smoke.
PREFIX_TRIGGERS: tuple[tuple[str, str], ...] = (
    ("ex", "HISTORICAL"), ("former", "HISTORICAL"), ("quit", "HISTORICAL"), ("stopped", "HISTORICAL"),
    ("gave up", "HISTORICAL"), ("non", "NEGATED_EXISTENCE"),
)


def _prefix_triggers() -> list[Any]:
    from medspacy.context import ConTextRule

    return [ConTextRule(literal, kind, direction="FORWARD", max_scope=2) for literal, kind in PREFIX_TRIGGERS]


def _pseudo_triggers() -> list[Any]:
    from medspacy.context import ConTextRule

    return [ConTextRule(literal, kind, direction="PSEUDO", pattern=pattern) for literal, kind, pattern in PSEUDO_TRIGGERS]


def _treatment_triggers() -> list[Any]:
    from medspacy.context import ConTextRule

    return [
        *(ConTextRule(p, TREATED, direction="BACKWARD", max_scope=6) for p in TREATMENT_AFTER),
        *(ConTextRule(p, TREATED, direction="FORWARD", max_scope=6) for p in TREATMENT_BEFORE),
    ]


def _window(required: frozenset[str], positions: dict[str, list[int]]) -> tuple[int, int] | None:
    """The shortest token window holding every required word (classic minimum-window sweep)."""
    events = sorted((p, w) for w in required for p in positions[w])
    need, have, counts = len(required), 0, dict.fromkeys(required, 0)
    best: tuple[int, int] | None = None
    left = 0
    for right, (pos, word) in enumerate(events):
        counts[word] += 1
        if counts[word] == 1:
            have += 1
        while have == need:
            lpos, lword = events[left]
            if best is None or pos - lpos < best[1] - best[0]:
                best = (lpos, pos)
            counts[lword] -= 1
            if counts[lword] == 0:
                have -= 1
            left += 1
        del right
    return best


def _mark_sentences(doc: Any) -> None:
    """Sentences end at . ! ? ; and at line breaks (notes are often one finding per line)."""
    start = True
    for token in doc:
        token.is_sent_start = start
        start = token.text in {".", "!", "?", ";"} or "\n" in token.text


@lru_cache(maxsize=1)
def shipped_lexicon() -> Lexicon:
    """Built once per process: it reads the whole tabular list (~10 s)."""
    return Lexicon.from_simple_icd_10_cm(f"FY{SHIPPED_RELEASE.fiscal_year}")


_LOADING = threading.Lock()


def default_engine() -> LexicalEngine:
    """The engine the worker uses, built once (threads asking meanwhile wait for it)."""
    with _LOADING:
        return _default_engine()


@lru_cache(maxsize=1)
def _default_engine() -> LexicalEngine:
    from integrations.codesets.catalog import default_catalog

    engine = LexicalEngine(shipped_lexicon(), default_catalog().icd10cm)
    engine.suggest([NoteDocument("warm-up", "Patient denies chest pain. Essential hypertension.")])  # ConText start-up
    log.info("cac.engine_loaded", version=engine.version, terms=len(engine.lexicon.terms))
    return engine
