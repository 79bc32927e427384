"""Code suggestions measured against gold codes (a CodiEsp-style folder).

    python -m bench.cac bench/data/cac-dev [--predictions OUT.tsv] [--limit 20] [--halves]

PATH holds `text_files_en/<note id>.txt` and one `*D.tsv` gold file (`note id<TAB>code`). The
engine runs on one core (the process is pinned to one CPU where the OS allows), note by note;
the figures go to stdout, ranked suggestions to OUT.tsv in CodiEsp's submission format
(`note id<TAB>code`, best first per note) when asked.

Gold labels are FY2018 codes: a suggestion counts as correct when it equals a gold code or is a
billable descendant of a gold code that is no longer billable (R51 → R51.9). Figures are given at
the full-code and the 3-character (category) level. `--halves` also scores the two halves of the
notes (sorted by id: the 1st, 3rd, … note form half A, the 2nd, 4th, … half B), so that wording
and weights tuned on one half can be checked on the other.
"""

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from models.coding.rules import normalize_icd10

Ranked = Mapping[str, Sequence[str]]  # note id → suggested codes, best first
Gold = Mapping[str, set[str]]


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    precision_at_5: float
    recall_at_5: float
    recall_at_10: float
    map: float
    notes: int


def read_gold(path: Path) -> dict[str, set[str]]:
    gold: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            note, code = line.split("\t")[:2]
            gold.setdefault(note.strip(), set()).add(normalize_icd10(code))
    return gold


def align(ranked: Ranked, gold: Gold, billable: Callable[[str], bool]) -> dict[str, list[str]]:
    """Map each suggestion onto the gold code it satisfies (a descendant of a retired code)."""
    aligned: dict[str, list[str]] = {}
    for note, codes in ranked.items():
        out: list[str] = []
        for code in codes:
            hit = next(
                (
                    g
                    for g in gold.get(note, ())
                    if code == g or (code.replace(".", "").startswith(g.replace(".", "")) and not billable(g))
                ),
                code,
            )
            if hit not in out:
                out.append(hit)
        aligned[note] = out
    return aligned


def categories(ranked: Ranked) -> dict[str, list[str]]:
    return {note: list(dict.fromkeys(c[:3] for c in codes)) for note, codes in ranked.items()}


def score(ranked: Ranked, gold: Gold) -> Scores:
    """Micro precision/recall/F1 of the whole list; P@5, R@5, R@10 and MAP averaged over notes."""
    notes = [n for n in gold if gold[n]]
    tp = sum(len(set(ranked.get(n, ())) & gold[n]) for n in notes)
    predicted = sum(len(ranked.get(n, ())) for n in notes)
    relevant = sum(len(gold[n]) for n in notes)
    precision = tp / predicted if predicted else 0.0
    recall = tp / relevant if relevant else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    def at(n: str, k: int) -> int:
        return len(set(list(ranked.get(n, ()))[:k]) & gold[n])

    def average_precision(n: str) -> float:
        hits, total = 0, 0.0
        for rank, code in enumerate(ranked.get(n, ()), start=1):
            if code in gold[n]:
                hits += 1
                total += hits / rank
        return total / len(gold[n])

    count = len(notes) or 1
    return Scores(
        precision=precision,
        recall=recall,
        f1=f1,
        precision_at_5=sum(at(n, 5) / 5 for n in notes) / count,
        recall_at_5=sum(at(n, 5) / len(gold[n]) for n in notes) / count,
        recall_at_10=sum(at(n, 10) / len(gold[n]) for n in notes) / count,
        map=sum(average_precision(n) for n in notes) / count,
        notes=len(notes),
    )


def score_both(ranked: Ranked, gold: Gold, billable: Callable[[str], bool]) -> dict[str, Scores]:
    aligned = align(ranked, gold, billable)
    gold3 = {n: {c[:3] for c in codes} for n, codes in gold.items()}
    return {"full code": score(aligned, gold), "3-character": score(categories(aligned), gold3)}


def halves(ranked: Ranked) -> dict[str, dict[str, Sequence[str]]]:
    """Half A: the 1st, 3rd, … note in id order; half B: the 2nd, 4th, … (a fixed, gold-blind split)."""
    ordered = sorted(ranked)
    return {
        "half A": {n: ranked[n] for n in ordered[0::2]},
        "half B": {n: ranked[n] for n in ordered[1::2]},
    }


def table(results: Mapping[str, Scores]) -> str:
    head = "| level | P | R | F1 | P@5 | R@5 | R@10 | MAP |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    rows = [
        f"| {level} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {s.precision_at_5:.3f} "
        f"| {s.recall_at_5:.3f} | {s.recall_at_10:.3f} | {s.map:.3f} |"
        for level, s in results.items()
    ]
    return "\n".join([head, *rows])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cac", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="folder with text_files_en/*.txt and a *D.tsv gold file")
    parser.add_argument("--predictions", type=Path, help="write ranked suggestions here (CodiEsp format)")
    parser.add_argument("--limit", type=int, default=20, help="suggestions per note (default 20)")
    parser.add_argument(
        "--all-mentions",
        action="store_true",
        help="keep negated, hypothetical, historical and family mentions (CodiEsp's gold codes them all)",
    )
    parser.add_argument(
        "--halves", action="store_true", help="also score half A (1st, 3rd, … note by id) and half B (2nd, 4th, …)"
    )
    args = parser.parse_args(argv)
    texts = sorted((args.path / "text_files_en").glob("*.txt"))
    gold_files = sorted(args.path.glob("*D.tsv"))
    if not texts or not gold_files:
        print(f"{args.path}: needs text_files_en/*.txt and a *D.tsv gold file", file=sys.stderr)
        return 2
    from integrations.cac.engine import EXCLUDING, LexicalEngine, shipped_lexicon
    from integrations.codesets import default_catalog
    from models.coding.suggestions import NoteDocument

    started = time.perf_counter()
    icd = default_catalog().icd10cm
    engine = LexicalEngine(shipped_lexicon(), icd, exclude=() if args.all_mentions else EXCLUDING)
    engine.suggest([NoteDocument("warm-up", "Patient denies chest pain.")])
    loaded = time.perf_counter() - started
    ranked: dict[str, list[str]] = {}
    latencies: list[float] = []
    cpu: list[float] = []  # CPU time of the engine's thread: what the note costs, whatever else runs
    for path in texts:
        document = NoteDocument(path.stem, path.read_text(encoding="utf-8"))
        t0, c0 = time.perf_counter(), time.thread_time()
        suggestions = engine.suggest([document], limit=args.limit)
        cpu.append((time.thread_time() - c0) * 1000)
        latencies.append((time.perf_counter() - t0) * 1000)
        ranked[path.stem] = [s.code for s in suggestions]
    if args.predictions:
        lines = [f"{note}\t{code.lower()}" for note, codes in ranked.items() for code in codes]
        args.predictions.write_text("\n".join(lines) + "\n", encoding="utf-8")

    newest = icd.releases[-1].effective_from

    def billable(code: str) -> bool:
        return icd.status(code, newest) == "billable"

    gold = read_gold(gold_files[0])
    results = score_both(ranked, {n: gold.get(n, set()) for n in ranked}, billable)
    latencies.sort()
    cpu.sort()
    out = [
        f"engine {engine.version}; {len(texts)} notes from {args.path}; up to {args.limit} suggestions per note; "
        + ("all mentions kept" if args.all_mentions else "negated/hypothetical/uncertain/historical/family mentions excluded"),
        "",
        table(results),
        "",
    ]
    if args.halves:
        for name, part in halves(ranked).items():
            scored = score_both(part, {n: gold.get(n, set()) for n in part}, billable)
            out += [f"{name} ({len(part)} notes)", "", table(scored), ""]
    out += [
        f"latency per note (one core): mean {statistics.fmean(latencies):.1f} ms, "
        f"p50 {latencies[len(latencies) // 2]:.1f} ms, p95 {latencies[int(len(latencies) * 0.95) - 1]:.1f} ms, "
        f"max {latencies[-1]:.1f} ms; engine load {loaded:.1f} s",
        f"CPU time per note: mean {statistics.fmean(cpu):.1f} ms, p50 {cpu[len(cpu) // 2]:.1f} ms, "
        f"p95 {cpu[int(len(cpu) * 0.95) - 1]:.1f} ms, max {cpu[-1]:.1f} ms; load average at the end "
        f"{os.getloadavg()[0]:.1f}",
    ]
    print("\n".join(out))
    return 0


def _one_core() -> None:
    """The latency goal is per note on one core: keep the engine (and spaCy's threads) on one."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


if __name__ == "__main__":
    _one_core()
    raise SystemExit(main())
