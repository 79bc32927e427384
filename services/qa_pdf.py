"""The audit report as a printable PDF (fpdf2, core fonts): the same facts as the HTML view."""

from typing import Any

from fpdf import FPDF


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f} %"


def _latin(text: object) -> str:
    """Core PDF fonts are Latin-1; replace what they cannot draw instead of failing."""
    return str(text).replace("→", "->").encode("latin-1", "replace").decode("latin-1")


def render_pdf(report: dict[str, Any]) -> bytes:
    audit, sample, results = report["audit"], report["sample"], report["results"]
    pdf = FPDF()
    pdf.set_title(_latin(f"QA audit report {audit['id']}"))
    pdf.add_page()
    pdf.set_font("helvetica", "B", 15)

    def line(text: object, *, size: int = 10, bold: bool = False) -> None:
        pdf.set_font("helvetica", "B" if bold else "", size)
        pdf.multi_cell(0, 5.5, _latin(text), new_x="LMARGIN", new_y="NEXT")

    line(f"QA audit report: {audit['name']} (cycle {audit['cycle']})", size=15, bold=True)
    line(f"Audit {audit['id']} - {audit['timing']}, {'blind' if audit['blind'] else 'unblinded'}, {audit['status']}")
    line("Sample definition", size=12, bold=True)
    line(
        f"Method {sample['method']}, seed {sample['seed']}, algorithm {sample['algorithm']}; "
        f"{sample['size']} of {sample['frame_size']} charts; frame sha256 {sample['frame_fingerprint']}"
    )
    line(f"Per stratum: {sample['per_stratum']}")
    overall = results["overall"]
    line("Results", size=12, bold=True)
    line(
        f"Code-level accuracy {_pct(overall['code_level_accuracy'])} "
        f"({overall['code_lines_correct']}/{overall['code_lines_reviewed']} lines); "
        f"chart-level accuracy {_pct(overall['chart_level_accuracy'])} "
        f"({overall['charts_accurate']}/{overall['charts_reviewed']} charts); "
        f"pass rate {_pct(overall['pass_rate'])}; pending findings {overall['pending_findings']}"
    )
    for coder, s in results["by_coder"].items():
        line(f"  {coder}: code-level {_pct(s['code_level_accuracy'])}, chart-level {_pct(s['chart_level_accuracy'])}")
    line("Findings by category", size=12, bold=True)
    for category, counts in report["findings_by_category"].items():
        line(f"  {category}: {counts}")
    line("Repeat findings", size=12, bold=True)
    for r in report["repeat_findings"] or [{"coder_id": "none", "category": "", "first_cycle": "", "cycle": ""}]:
        line(f"  {r['coder_id']} {r['category']} (first cycle {r['first_cycle']}, again in {r['cycle']})")
    line("Auditor agreement", size=12, bold=True)
    for pair, k in report["auditor_agreement"]["pairs"].items():
        kappa = "undefined" if k["kappa"] is None else f"{k['kappa']:.3f}"
        line(f"  {pair}: agreement {_pct(k['percent_agreement'])}, Cohen's kappa {kappa} (n={k['n']})")
    line("Trend by cycle", size=12, bold=True)
    for c in report["trends"]["by_cycle"]:
        line(f"  cycle {c['cycle']}: code-level {_pct(c['code_level_accuracy'])}, chart-level {_pct(c['chart_level_accuracy'])}")
    return bytes(pdf.output())
