"""Request-body examples for the OpenAPI document, one per operation, in one place.

Kept beside the app rather than in each schema so every operation gets one without touching
the models; tests/api/test_openapi_examples.py checks that each body has an example and that
each JSON example is accepted by the operation's own request model.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

DOC = "5f0c2a9e-8d4b-4c1e-9a7f-3b2d6e1f0a42"  # one of the encounter's document ids
EVIDENCE = [{"document_id": DOC, "excerpt": "type 2 diabetes mellitus with hyperglycemia"}]

X12_277CA = (
    "ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLEARCHART     *261205*0249*^*00501*000000007*0*T*:~\n"
    "GS*HN*PAYER*CLEARCHART*20261205*0249*7*X*005010X214~\nST*277*0001*005010X214~\nBHT*0085*08*B1*20261205*024952*TH~\n"
    "HL*1**20*1~\nNM1*PR*2*SANDBOX PAYER*****PI*SANDBOX~\nTRN*1*7~\nDTP*050*D8*20261205~\nDTP*009*D8*20261205~\n"
    "HL*2*1*21*1~\nNM1*41*2*SUBMITTER*****46*SUBMITTER~\nTRN*2*B1~\nSTC*A1:19*20261205*WQ*150~\nQTY*90*1~\nAMT*YU*150~\n"
    "HL*3*2*19*1~\nNM1*85*2*SANDBOX CLINIC*****XX*1234567893~\nHL*4*3*PT~\nNM1*QC*1*PATIENT~\nTRN*2*CC0000000001~\n"
    "STC*A2:20*20261205*WQ*150~\nDTP*472*D8*20261205~\nSE*21*0001~\nGE*1*7~\nIEA*1*000000007~\n"
)
X12_835 = (
    "ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLEARCHART     *261205*0249*^*00501*000000007*0*T*:~\n"
    "GS*HP*PAYER*CLEARCHART*20261205*0249*7*X*005010X221A1~\nST*835*0001*005010X221A1~\n"
    "BPR*I*120*C*CHK************20261205~\nTRN*1*TRACE1*MEDICARE~\nDTM*405*20261205~\nN1*PR*MEDICARE PART B~\n"
    "N3*PO BOX 1~\nN4*SPRINGFIELD*IL*62701~\nPER*BL*EDI SUPPORT*TE*8005550100~\nN1*PE*SANDBOX CLINIC*XX*1234567893~\n"
    "LX*1~\nCLP*CC0000000001*1*150*120**MB*PCN1*11*1~\nNM1*QC*1*UNKNOWN~\nSVC*HC:99214*150*120**1~\nDTM*472*20261205~\n"
    "CAS*CO*45*30~\nSE*16*0001~\nGE*1*7~\nIEA*1*000000007~\n"
)

EXAMPLES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/encounters/{encounter_id}/suggestions/{suggestion_id}/decision"): {"decision": "accepted"},
    ("POST", "/v1/remittance-exceptions/{exception_id}/resolve"): {
        "action": "dismiss", "reason": "Payment belongs to a claim billed before go-live; posted by hand.",
    },
    ("POST", "/v1/payers"): {"payer_id": "MEDICARE", "name": "MEDICARE PART B", "x12_payer_id": "MEDICARE", "filing_indicator": "MB"},
    ("PUT", "/v1/admin/tenant-policy"): {"policy": {"coding_sla_hours": 48}, "reason": "new vendor contract", "version": 3},
    ("POST", "/codec/decode"): {"payloads": [{"metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA=="}, "data": "…"}]},
    ("POST", "/codec/encode"): {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "eyJjb2RlIjogIkUxMS42NSJ9"}]},
    ("POST", "/v1/encounters/{encounter_id}/coding"): {
        "diagnoses": [{"code": "E11.65", "evidence": EVIDENCE}, {"code": "I10", "evidence": [{"document_id": DOC, "excerpt": "essential hypertension"}]}],
        "procedures": [{"code": "99214", "modifiers": [], "units": 1, "pointers": [1, 2], "evidence": [{"document_id": DOC, "excerpt": "follow-up of chronic conditions"}]}],
    },
    ("POST", "/v1/encounters/{encounter_id}/reassign"): {"to_user": "alice.coder"},
    ("POST", "/v1/encounters/{encounter_id}/holds"): {"reason": "authorization_missing", "note": "No prior authorization on file for the MRI."},
    ("POST", "/v1/holds/{hold_id}/release"): {"resolution": "Authorization received from the payer."},
    ("POST", "/v1/encounters/{encounter_id}/queries"): {
        "physician_npi": "1234567893",
        "question": "Based on the indicators, which condition is being monitored and treated?",
        "form": "multiple_choice",
        "indicators": [{"document_id": DOC, "excerpt": "HbA1c 7.9%"}],
        "options": ["Type 2 diabetes mellitus with hyperglycemia", "Type 2 diabetes mellitus without complications", "Other (please specify)", "Clinically undetermined"],
    },
    ("POST", "/v1/queries/{query_id}/answer"): {"option_index": 0, "addendum": "Addendum: type 2 diabetes mellitus with hyperglycemia."},
    ("POST", "/v1/queries/{query_id}/withdraw"): {"reason": "The note was amended before an answer came."},
    ("POST", "/v1/query-templates"): {"name": "diabetes-type", "question": "Please clarify the type of diabetes being treated.", "form": "open_ended"},
    ("POST", "/v1/encounters/{encounter_id}/scrub/acknowledge"): {
        "acknowledgments": [{"rule": "mue.units_exceeded", "line_index": 0, "reason": "Bilateral procedure documented in the operative note."}]
    },
    ("POST", "/v1/acknowledgments"): X12_277CA,
    ("POST", "/v1/remittances"): X12_835,
    ("POST", "/v1/denials/{denial_id}/appeals"): {"level": "redetermination", "reason": "The diagnosis is documented in the progress note of the date of service."},
    ("POST", "/v1/denials/{denial_id}/write-off"): {"reason": "Below the appeal threshold; approved by the revenue-cycle lead."},
    ("POST", "/v1/appeals/{appeal_id}/decision"): {"decision": "overturned", "recovered_cents": 12000},
    ("POST", "/v1/audits"): {"name": "Q4 outpatient review", "timing": "retrospective", "method": "simple_random", "seed": 20261205, "size": 30},
    ("POST", "/v1/audits/{audit_id}/charts/{chart_id}/review"): {"diagnoses": [{"code": "E11.9"}, {"code": "I10"}], "procedures": [{"code": "99214", "units": 1}]},
    ("POST", "/v1/audits/{audit_id}/charts/{chart_id}/findings"): {
        "findings": [{"draft": 0, "category": "specificity", "severity": "medium",
                      "reference": {"kind": "official_guidelines", "citation": "ICD-10-CM OCG I.C.4.a"},
                      "rationale": "E11.65 needs hyperglycemia documented; the note states controlled diabetes."}]
    },
    ("POST", "/v1/findings/{finding_id}/respond"): {"action": "dispute", "comment": "HbA1c 9.1% is documented on the date of service."},
    ("POST", "/v1/findings/{finding_id}/reconcile"): {"outcome": "upheld", "comment": "No hyperglycemia is stated in the note."},
    ("POST", "/v1/education"): {"coder_id": "alice.coder", "category": "specificity", "note": "Reviewed OCG I.C.4.a on diabetes with hyperglycemia."},
}


def install(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so each request body without an example gets ours."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = original()
        for path, operations in spec.get("paths", {}).items():
            for method, op in operations.items():
                example = EXAMPLES.get((method.upper(), path))
                for media in op.get("requestBody", {}).get("content", {}).values():
                    if example is not None and "example" not in media and "examples" not in media:
                        media["example"] = example
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
