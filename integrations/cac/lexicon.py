"""The term lexicon of the lexical engine, built from the ICD-10-CM tabular list.

Each term is a code's description, one of its inclusion terms, or a category's description
(then it stands for the category's unspecified billable code). A term is reduced to the words a
note must contain for it to match: parenthesised nonessential modifiers, "without …" clauses and
filler words ("unspecified", "other", "initial encounter") are optional. Words are normalized
the same way on both sides (see `normalize`), so "renal" in a note meets "kidney" in a title.
"""

import math
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from models.coding.suggestions import Reason

WORD = re.compile(r"[a-z0-9]+")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")

# Words no term needs to contain, on either side.
STOPWORDS = frozenset(
    ["a", "s", "an", "and", "as", "at", "be", "by", "due", "for", "from", "in", "into", "is", "of", "on", "or", "other", "the", "to", "with", "specified", "unspecified", "nos", "nec", "classified", "elsewhere", "initial", "encounter", "site", "organism", "part"]
)
# A term reduced to one of these alone says nothing about a diagnosis.
_WEAK_WORDS = [
    "examination", "history", "status", "disease", "disorder", "condition", "complication", "complications", "finding", "findings", "abnormal", "problem", "left", "right", "acute", "chronic", "person", "contact", "care", "use", "procedure", "test", "presence", "absence", "body", "region", "bilateral", "multiple", "single", "severe", "mild", "moderate", "stage", "unilateral", "primary", "secondary"
]
# A term made only of these names no organ or cause ("malignant neoplasm", "pain"): it ranks low,
# below any term that says what or where.
_GENERIC_WORDS = ["malignant", "neoplasm", "secondary", "primary", "pain", "infection", "injury", "tumor", "disease", "disorder", "lesion"]
# Clinical synonyms folded to the word the tabular list uses (one word can stand for several).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "ii": ("2",),
    "renal": ("kidney",),
    "hepatic": ("liver",),
    "pulmonary": ("lung",),
    "cardiac": ("heart",),
    "gastric": ("stomach",),
    "cerebral": ("brain",),
    "tumour": ("neoplasm",),
    "tumor": ("neoplasm",),
    "neoplasia": ("neoplasm",),
    "cancer": ("malignant", "neoplasm"),
    "carcinoma": ("malignant", "neoplasm"),
    "adenocarcinoma": ("malignant", "neoplasm"),
    "malignancy": ("malignant", "neoplasm"),
    "sarcoma": ("malignant", "neoplasm"),
    "metastasis": ("secondary", "malignant", "neoplasm"),
    "metastases": ("secondary", "malignant", "neoplasm"),
    "metastatic": ("secondary", "malignant", "neoplasm"),
    "htn": ("hypertension",),
    "hypertensive": ("hypertension",),
    "diabetic": ("diabetes",),
    "dm": ("diabetes", "mellitus"),
    "copd": ("chronic", "obstructive", "lung", "disease"),
    "gerd": ("gastro", "esophageal", "reflux", "disease"),
    "oesophageal": ("esophageal",),
    "haemorrhage": ("hemorrhage",),
    "anaemia": ("anemia",),
    "oedema": ("edema",),
    "faeces": ("feces",),
    "febrile": ("fever",),
    "fevers": ("fever",),
    "vomit": ("vomiting",),
    "infarct": ("infarction",),
    "fractured": ("fracture",),
    "kidneys": ("kidney",),
    # Adjectives folded to the organ the tabular list names ("testicular mass" meets "testis").
    "testicular": ("testis",),
    "testicle": ("testis",),
    "testicles": ("testis",),
    "testes": ("testis",),
    "ovarian": ("ovary",),
    "prostatic": ("prostate",),
    "vesical": ("bladder",),
    "ureteral": ("ureter",),
    "ureteric": ("ureter",),
    "urethral": ("urethra",),
    "cutaneous": ("skin",),
    "splenic": ("spleen",),
    "pancreatic": ("pancreas",),
    "colonic": ("colon",),
    "rectal": ("rectum",),
    "duodenal": ("duodenum",),
    "uterine": ("uterus",),
    "ocular": ("eye",),
    "retinal": ("retina",),
    "osseous": ("bone",),
    "bony": ("bone",),
    "pleural": ("pleura",),
    "peritoneal": ("peritoneum",),
    "hepatocellular": ("liver", "cell"),
    "lumbar": ("low", "back"),
    "lumbago": ("low", "back", "pain"),
    "biliary": ("bile", "duct"),
    "gallbladder": ("gallbladder",),
    "lymphadenopathies": ("lymphadenopathy",),
    "adenopathy": ("lymphadenopathy",),
    "adenopathies": ("lymphadenopathy",),
    "haematuria": ("hematuria",),
    "oesophagus": ("esophagus",),
    "leukaemia": ("leukemia",),
    "paediatric": ("pediatric",),
    "diarrhoea": ("diarrhea",),
    "erythematous": ("erythema",),
    "oedematous": ("edema",),
    "edematous": ("edema",),
    "haemangioma": ("hemangioma",),
    "dyspnoea": ("dyspnea",),
    "ulcus": ("ulcer",),
    # Wording of notes translated from Spanish ("neoformación", "tumoración").
    "neoformation": ("neoplasm",),
    "neoformative": ("neoplasm",),
    "tumoration": ("neoplasm",),
    "tumoral": ("neoplasm",),
    "neoplastic": ("neoplasm",),
    # Unnamed abnormality of an organ: the tabular list says "disorder of …" ("renal lesion" meets
    # "Disorder of kidney and ureter, unspecified", as the Alphabetic Index's "Disease, kidney" does).
    "disease": ("disorder",),
    "diseases": ("disorder",),
    "lesion": ("disorder",),
    "lesions": ("disorder",),
    "alteration": ("disorder",),
    "alterations": ("disorder",),
    "abnormality": ("disorder",),
    "abnormalities": ("disorder",),
    "pathology": ("disorder",),
    # Unambiguous clinical abbreviations.
    "uti": ("urinary", "tract", "infection"),
    "ami": ("acute", "myocardial", "infarction"),
    "ckd": ("chronic", "kidney", "disease"),
    "dvt": ("deep", "vein", "thrombosis"),
    "tb": ("tuberculosis",),
    "hcv": ("hepatitis", "c"),
    "hbv": ("hepatitis", "b"),
    "cmv": ("cytomegalovirus",),
    "ebv": ("epstein", "barr", "virus"),
    "hpv": ("papillomavirus",),
    "bph": ("benign", "prostatic", "hyperplasia"),
    "ihd": ("ischemic", "heart", "disease"),
    "chf": ("congestive", "heart", "failure"),
    "cva": ("cerebral", "infarction"),
    "tia": ("transient", "cerebral", "ischemic", "attack"),
    "sle": ("systemic", "lupus", "erythematosus"),
    "ards": ("acute", "respiratory", "distress", "syndrome"),
    "aki": ("acute", "kidney", "failure"),
    "ibd": ("inflammatory", "bowel", "disease"),
    "hcc": ("liver", "cell", "malignant", "neoplasm"),
    "rcc": ("kidney", "cell", "malignant", "neoplasm"),
}
# Tumour morphology: a word ending so names a malignant neoplasm (leiomyosarcoma, seminoma, …).
_MALIGNANT_SUFFIXES = ("carcinoma", "carcinomas", "sarcoma", "sarcomas", "blastoma", "blastomas")
_MALIGNANT = frozenset(["seminoma", "seminomas", "mesothelioma", "mesotheliomas", "germinoma", "cholangiocarcinoma"])


# Words whose final "s" is not a plural.
_SINGULAR_S = frozenset(["diabetes", "herpes", "feces", "rabies", "scabies", "series", "species", "caries", "ascites", "meninges", "pubes"])


# Adjectives of the examination ("depressible", "palpable") are not the condition their stem names.
_UNSTEMMED_ENDINGS = ("ible", "able")


@lru_cache(maxsize=1)
def _stemmer() -> Callable[[str], str]:
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer("english", ignore_stopwords=False).stem  # type: ignore[no-any-return]


@lru_cache(maxsize=65536)
def normalize(word: str) -> tuple[str, ...]:
    """One lower-case word → the normalized words it stands for (none for a stopword).

    Synonyms and abbreviations are folded first, then each word is stemmed (Snowball), so
    "smoked", "smoking" and "smokes" meet, as do "ulcerated" and "ulcer"."""
    return tuple(w if w.endswith(("itis", *_UNSTEMMED_ENDINGS)) else _stemmer()(w) for w in _unstemmed(word))  # capsulitis ≠ capsule


# British spellings folded to the American ones the tabular list uses (anaemia, ischaemic,
# oesophagus, paediatric, diarrhoea, hypercholesterolaemia).
_BRITISH = re.compile(r"haem|aem|paed|aec|aesth|oedem|^oesoph|^oestr|rrhoea|pnoea")
_AMERICAN = {
    "haem": "hem", "aem": "em", "paed": "ped", "aec": "ec", "aesth": "esth", "oedem": "edem", "oesoph": "esoph",
    "oestr": "estr", "rrhoea": "rrhea", "pnoea": "pnea",
}


def _american(word: str) -> str:
    if "ae" not in word and "oe" not in word:
        return word
    return _BRITISH.sub(lambda m: _AMERICAN[m.group(0)], word)


def _unstemmed(word: str) -> tuple[str, ...]:
    if word in STOPWORDS:
        return ()
    word = _american(word)
    if word in SYNONYMS:
        return SYNONYMS[word]
    if word in _MALIGNANT or (word.endswith(_MALIGNANT_SUFFIXES) and word not in ("carcinoma", "sarcoma")):
        return (word, "malignant", "neoplasm")
    if word in _SINGULAR_S or word.endswith(_UNSTEMMED_ENDINGS):
        return (word,)
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ous")):
        word = word[:-1]
    return SYNONYMS.get(word, (word,))


def stems(raw: Iterable[str]) -> frozenset[str]:
    """Normalized forms of a list of plain words (for word sets such as WEAK and GENERIC)."""
    return frozenset(n for w in raw for n in normalize(w))


WEAK = stems(_WEAK_WORDS)
GENERIC = stems(_GENERIC_WORDS)


def words(text: str) -> list[str]:
    """Normalized words of a phrase, in order (a synonym may add several)."""
    return [n for w in WORD.findall(text.lower()) for n in normalize(w)]


def required_words(term: str) -> frozenset[str]:
    """The words a note must contain: no parentheses, no "without …" or "not …" clause.

    A "non…" qualifier (nonrheumatic, nontraumatic, noninfective) is optional too: it names the
    default the Alphabetic Index gives the bare term ("aortic stenosis" → I35.0), which notes
    rarely spell out."""
    core = _PAREN.sub(" ", term.lower())
    core = re.split(r"\bwithout\b|\bnot elsewhere\b|\bnot otherwise\b|\bexcept\b", core, maxsplit=1)[0]
    core = re.sub(r"\bnon[a-z]{5,}", " ", core)
    return frozenset(words(core))


_REASON_RANK = {"description": 0, "inclusion_term": 1, "index_term": 2, "category_description": 3}


@dataclass(frozen=True)
class Term:
    code: str  # the billable code the term stands for
    text: str  # as written in the tabular list
    reason: Reason
    required: frozenset[str]
    all_words: frozenset[str]
    weight: float  # summed inverse term frequency of the required words

    @property
    def preference(self) -> tuple[int, int, int]:
        """Among terms a text matches equally, lower is better: a residual "Other …" code or a
        manifestation code ("… in diseases classified elsewhere", never coded alone) last."""
        low = self.text.lower()
        residual = low.startswith("other") or ", other" in low or ("classified elsewhere" in low and " in " in low)
        return (residual, _REASON_RANK[self.reason], len(self.all_words))


@dataclass(frozen=True)
class Lexicon:
    terms: list[Term]
    anchors: dict[str, list[int]]  # rarest required word → term indexes
    descriptions: dict[str, str]  # billable code → description
    release: str
    idf: dict[str, float]  # inverse term frequency of each required word

    @classmethod
    def from_simple_icd_10_cm(cls, release: str) -> "Lexicon":
        """Build from the tabular list the library ships (about 10 s, once per process)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import simple_icd_10_cm as cm
        raw = [*_raw_terms(cm), *index_terms()]
        from integrations.cac.status import status_codes

        descriptions = {code: cm.get_description(code) for code, _, _ in raw}
        descriptions |= {code: cm.get_description(code) for code in status_codes() if cm.is_valid_item(code)}
        return cls.build(raw, descriptions, release)

    @classmethod
    def build(cls, raw: list[tuple[str, str, Reason]], descriptions: dict[str, str], release: str) -> "Lexicon":
        """Reduce raw (code, text, reason) terms, weight their words and index the rarest one."""
        seen: dict[tuple[str, frozenset[str]], tuple[str, Reason]] = {}
        for code, text, reason in raw:
            req = required_words(text)
            if not req or (len(req) == 1 and next(iter(req)) in WEAK) or all(w.isdigit() for w in req):
                continue
            seen.setdefault((code, req), (text, reason))
        df: dict[str, int] = {}
        for _, req in seen:
            for w in req:
                df[w] = df.get(w, 0) + 1
        n = len(seen) + 1
        idf = {w: math.log(n / c) for w, c in df.items()}
        terms: list[Term] = []
        anchors: dict[str, list[int]] = {}
        for (code, req), (text, reason) in seen.items():
            weight = math.fsum(idf[w] for w in req)  # exact: the same weight whatever the set order
            terms.append(Term(code, text, reason, req, frozenset(words(text)), weight))
            anchors.setdefault(min(req, key=lambda w: (df[w], w)), []).append(len(terms) - 1)
        return cls(terms, anchors, descriptions, release, idf)


def index_terms() -> list[tuple[str, str, Reason]]:
    """The engine's own everyday-wording entries (`data/index_terms.tsv`)."""
    text = (Path(__file__).parent / "data" / "index_terms.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [(code.strip(), term.strip(), "index_term") for term, code in rows]


_COORDINATED = re.compile(r"^(?P<head>.*?\bof (?:the )?)(?P<x>[a-z]+) and (?P<y>[a-z]+)(?P<rest>.*)$", re.IGNORECASE)


def readings(text: str) -> list[str]:
    """A term naming two organs ("Disorder of kidney and ureter") also stands for each alone."""
    m = _COORDINATED.match(text)
    if m is None:
        return [text]
    rest, x, y = m["rest"], m["x"], m["y"]
    if {x.lower(), y.lower()} & STOPWORDS:
        return [text]  # "of other and unspecified organs": nothing to split
    # "of kidney and ureter, …": each organ alone keeps what follows; "of size and form of teeth":
    # what follows qualifies both.
    return [text, f"{m['head']}{x}{rest}", f"{m['head']}{y}{rest}"]


def _raw_terms(cm: ModuleType) -> Iterator[tuple[str, str, Reason]]:
    for code in cm.get_all_codes(True):
        if cm.is_chapter_or_block(code) or code[0] in "VWXY":  # external causes need their own context
            continue
        target = _default_leaf(cm, code)
        if target is None or _skipped(cm.get_description(target)):
            continue
        description = cm.get_description(code)
        if cm.is_leaf(code):
            for reading in readings(description):
                yield target, reading, "description"
            for term in [*cm.get_inclusion_term(code), *cm.get_includes(code)]:
                if "history" not in term.lower():  # a history-of term is never the current diagnosis
                    for reading in readings(term):
                        yield target, reading, "inclusion_term"
        else:
            for reading in readings(description):
                yield target, reading, "category_description"


def _skipped(description: str) -> bool:
    """Later encounters, sequelae and encounter/history Z codes are not suggested from a note."""
    low = description.lower()
    return (
        "subsequent encounter" in low
        or low.endswith("sequela")
        or low.startswith(("encounter for", "personal history", "family history"))
        or "history of" in low
    )


def _default_leaf(cm: ModuleType, code: str) -> str | None:
    """The billable code a category stands for: its unspecified (or initial-encounter) child."""
    for _ in range(4):
        if cm.is_leaf(code):
            return code
        kids = cm.get_children(code)
        descs = {k: cm.get_description(k).lower() for k in kids}
        pick = next((k for k in kids if "unspecified" in descs[k] and not descs[k].startswith("other")), None)
        pick = pick or next((k for k in kids if k.endswith("9") and not descs[k].startswith("other")), None)
        pick = pick or next((k for k in kids if len(k.replace(".", "")) == 7 and k.endswith("A")), None)
        if pick is None:
            return None
        code = pick
    return code if cm.is_leaf(code) else None
