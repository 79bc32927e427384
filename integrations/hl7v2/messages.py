"""HL7 v2 intake messages (ADT^A03/A08, DFT^P03, MDM^T02) as the FHIR R4 Bundle our FHIR intake
reads, so both feeds share one path: the same idempotency, projection and holds.

Parsing is python-hl7's; the mapping is ours:

| HL7 v2 | FHIR |
| --- | --- |
| PV1-19 visit number (else PID-18 account number) | Encounter.id — the encounter's identity across messages |
| PV1-2 patient class I/O/E | Encounter.class IMP/AMB/EMER |
| PV1-44 / PV1-45 | Encounter.period start / end |
| PV1-7 attending doctor (XCN; a 10-digit id is taken as the NPI) | Practitioner |
| PID-3 (first), PID-5, PID-7, PID-8 | Patient id, name, birth date, gender |
| IN1-3 / IN1-4 / IN1-36 | Coverage payer id / payer name / member id |
| FT1 charges (FT1-11 extended amount, else FT1-12 × FT1-10) | Claim.total |
| TXA-2 type, TXA-12 document number, TXA-4 time; OBX-5 text lines | DocumentReference |
"""

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import hl7

SUPPORTED: Final = frozenset({"ADT^A03", "ADT^A08", "DFT^P03", "MDM^T02"})
PATIENT_CLASS: Final = {"I": "IMP", "O": "AMB", "E": "EMER", "P": "PRENC", "R": "AMB", "B": "AMB"}
GENDER: Final = {"M": "male", "F": "female", "O": "other", "A": "other", "U": "unknown"}
# TXA-2 document types (HL7 table 0270, local usage) to LOINC note types.
DOCUMENT_TYPES: Final = {
    "PN": ("11506-3", "Progress note"),
    "HP": ("34117-2", "History and physical note"),
    "DS": ("18842-5", "Discharge summary"),
    "CN": ("11488-4", "Consult note"),
    "OP": ("11504-8", "Surgical operation note"),
    "ED": ("34111-1", "Emergency department note"),
}
ACT_CODE: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LOINC: Final = "http://loinc.org"
NPI: Final = "http://hl7.org/fhir/sid/us-npi"
_LOINC_CODE: Final = re.compile(r"^\d{1,7}-\d$")


class V2Error(ValueError):
    """A message we cannot take; the text says which field to fix (it goes into the NAK)."""


@dataclass(frozen=True)
class V2Message:
    control_id: str
    kind: str  # "ADT^A03"
    version: str
    parsed: hl7.Message


def parse(text: str) -> V2Message:
    """Parse one ER7 message; segments may end in CR, LF or CRLF."""
    normalized = "\r".join(line for line in re.split(r"\r\n|\r|\n", text.strip()) if line)
    if not normalized.startswith("MSH"):
        raise V2Error("the message does not start with an MSH segment")
    try:
        message = hl7.parse(normalized)
        kind = f"{_get(message, 'MSH', 9, 1)}^{_get(message, 'MSH', 9, 2)}"
    except (hl7.ParseException, IndexError, KeyError, ValueError) as exc:
        raise V2Error(f"not a parseable HL7 v2 message: {exc}") from exc
    control_id = _get(message, "MSH", 10)
    if not control_id:
        raise V2Error("MSH-10 (message control id) is required: it makes redeliveries recognisable")
    return V2Message(control_id, kind, _get(message, "MSH", 12), message)


def ack(message: V2Message | None, code: str, text: str = "", *, raw: str = "") -> str:
    """An original-mode ACK (MSA-1 AA, AE or AR) echoing MSH-10; MSA-3 carries ``text``."""
    clean = re.sub(r"[|^~\\&\r\n]", " ", text)[:200]
    if message is not None:
        out = str(message.parsed.create_ack(ack_code=code, message_id=f"ACK{message.control_id}"[:20])).rstrip("\r\n")
        return out + (f"|{clean}" if clean else "")
    control = ""
    if raw.startswith("MSH") and len(raw) > 4:
        fields = raw.split("\r")[0].split("\n")[0].split(raw[3])
        control = fields[9] if len(fields) > 9 else ""
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")  # noqa: DTZ005 - HL7 TS carries no zone here
    return f"MSH|^~\\&|CLEARCHART||||{stamp}||ACK|ACK{control}"[:200] + f"|P|2.5\rMSA|{code}|{control}|{clean}"


def _get(message: hl7.Message, segment: str, field: int, component: int = 1, n: int = 1) -> str:
    """Field ``field``, component ``component`` (first repetition) of the ``n``-th ``segment``."""
    try:
        return str(message.extract_field(segment, n, field, 1, component)).strip()
    except (KeyError, IndexError):
        return ""


def _count(message: hl7.Message, segment: str) -> int:
    try:
        return len(message.segments(segment))
    except KeyError:
        return 0


def _ts(value: str) -> str | None:
    """HL7 TS (YYYYMMDD[HHMM[SS]][±ZZZZ]) → FHIR dateTime (UTC when no zone is given)."""
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?(?:\.\d+)?)?([+-]\d{4})?", value)
    if not m:
        return None
    y, mo, d, h, mi, s, zone = m.groups()
    if h is None:
        return f"{y}-{mo}-{d}"
    tz = f"{zone[:3]}:{zone[3:]}" if zone else "+00:00"
    return f"{y}-{mo}-{d}T{h}:{mi}:{s or '00'}{tz}"


def _money(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def to_bundle(message: V2Message) -> dict[str, Any]:
    """The FHIR R4 collection Bundle for one supported message."""
    if message.kind not in SUPPORTED:
        raise V2Error(f"message type {message.kind} is not taken here; send {', '.join(sorted(SUPPORTED))}")
    m = message.parsed
    visit = _get(m, "PV1", 19) or _get(m, "PID", 18)
    if not visit:
        raise V2Error("PV1-19 (visit number) or PID-18 (patient account number) is required to know the encounter")
    patient_id = _get(m, "PID", 3)
    if not patient_id:
        raise V2Error("PID-3 (patient identifier) is required")
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": _fhir_id(patient_id),
        "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}, "value": patient_id}],
    }
    family, given = _get(m, "PID", 5, 1), _get(m, "PID", 5, 2)
    if family or given:
        patient["name"] = [{"family": family or None, "given": [given] if given else []}]
    if birth := _ts(_get(m, "PID", 7)[:8]):
        patient["birthDate"] = birth
    if gender := GENDER.get(_get(m, "PID", 8)):
        patient["gender"] = gender
    enc_id = _fhir_id(visit)
    start, end = _ts(_get(m, "PV1", 44)), _ts(_get(m, "PV1", 45))
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": enc_id,
        "identifier": [{"value": visit}],
        "status": "finished" if message.kind == "ADT^A03" or end else "in-progress",
        "class": {"system": ACT_CODE, "code": PATIENT_CLASS.get(_get(m, "PV1", 2), "AMB")},
        "subject": {"reference": f"Patient/{patient['id']}"},
    }
    if start or end:
        encounter["period"] = {k: v for k, v in (("start", start), ("end", end)) if v}
    resources = [patient, encounter]
    if attending := _get(m, "PV1", 7, 1):
        prac: dict[str, Any] = {"resourceType": "Practitioner", "id": _fhir_id(f"prac-{attending}")}
        prac["identifier"] = [{"system": NPI, "value": attending}] if re.fullmatch(r"\d{10}", attending) else [{"value": attending}]
        if name := _get(m, "PV1", 7, 2):
            prac["name"] = [{"family": name, "given": [g] if (g := _get(m, "PV1", 7, 3)) else []}]
        encounter["participant"] = [{"individual": {"reference": f"Practitioner/{prac['id']}"}}]
        resources.append(prac)
    resources += _coverage(m, patient["id"])
    resources += _charges(message, enc_id, patient["id"])
    resources += _document(message, enc_id, patient["id"])
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in resources]}


def _fhir_id(value: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9\-.]", "-", value)[:64]
    return cleaned or "x"


def _coverage(m: hl7.Message, patient_id: str) -> list[dict[str, Any]]:
    if not _count(m, "IN1"):
        return []
    payer_id, payer_name = _get(m, "IN1", 3), _get(m, "IN1", 4)
    if not (payer_id or payer_name):
        return []
    org: dict[str, Any] = {"resourceType": "Organization", "id": _fhir_id(f"payer-{payer_id or payer_name}"), "name": payer_name or payer_id}
    if payer_id:
        org["identifier"] = [{"value": payer_id}]
    coverage: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": _fhir_id(f"cov-{patient_id}-{payer_id or payer_name}"),
        "status": "active",
        "beneficiary": {"reference": f"Patient/{patient_id}"},
        "payor": [{"reference": f"Organization/{org['id']}"}],
    }
    if member := _get(m, "IN1", 36):
        coverage["subscriberId"] = member
    return [org, coverage]


def _charges(message: V2Message, enc_id: str, patient_id: str) -> list[dict[str, Any]]:
    if message.kind != "DFT^P03":
        return []
    total = Decimal(0)
    found = False
    m = message.parsed
    for n in range(1, _count(m, "FT1") + 1):
        if _get(m, "FT1", 6, n=n) not in ("CG", ""):
            continue
        amount = _money(_get(m, "FT1", 11, n=n))
        if amount is None and (unit := _money(_get(m, "FT1", 12, n=n))) is not None:
            amount = unit * (_money(_get(m, "FT1", 10, n=n)) or Decimal(1))
        if amount is not None:
            total += amount
            found = True
    if not found:
        return []
    return [{
        "resourceType": "Claim", "id": _fhir_id(f"{enc_id}-charges-{message.control_id}"), "status": "active", "use": "claim",
        "patient": {"reference": f"Patient/{patient_id}"}, "created": _ts(_get(message.parsed, "MSH", 7)) or "1970-01-01",
        "item": [{"sequence": 1, "encounter": [{"reference": f"Encounter/{enc_id}"}]}],
        "total": {"value": float(total), "currency": "USD"},
    }]  # fmt: skip


def _document(message: V2Message, enc_id: str, patient_id: str) -> list[dict[str, Any]]:
    if message.kind != "MDM^T02":
        return []
    m = message.parsed
    type_code, type_text = _get(m, "TXA", 2, 1), _get(m, "TXA", 2, 2)
    lines = [_get(m, "OBX", 5, n=n) for n in range(1, _count(m, "OBX") + 1) if _get(m, "OBX", 2, n=n) in ("TX", "ST", "FT", "")]
    text = "\n".join(line for line in lines if line)
    if not text:
        raise V2Error("MDM^T02 carries no document text: send it in OBX-5 (value type TX, ST or FT)")
    doc_number = _get(m, "TXA", 12) or message.control_id
    concept: dict[str, Any]
    if _LOINC_CODE.match(type_code):
        concept = {"coding": [{"system": LOINC, "code": type_code, "display": type_text or None}]}
    elif type_code in DOCUMENT_TYPES:
        code, display = DOCUMENT_TYPES[type_code]
        concept = {"coding": [{"system": LOINC, "code": code, "display": display}], "text": type_text or None}
    else:
        concept = {"text": type_text or type_code or "Clinical document"}
    doc: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": _fhir_id(f"doc-{doc_number}"),
        "status": "current",
        "type": {k: v for k, v in concept.items() if v is not None},
        "subject": {"reference": f"Patient/{patient_id}"},
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": base64.b64encode(text.encode()).decode()}}],
        "context": {"encounter": [{"reference": f"Encounter/{enc_id}"}]},
    }
    if when := _ts(_get(m, "TXA", 4)) or _ts(_get(m, "TXA", 7)):
        doc["date"] = when if "T" in when else f"{when}T00:00:00+00:00"
    return [doc]
