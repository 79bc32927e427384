"""The CPT and HCPCS Level II modifiers a claim line may carry.

CPT modifier descriptors are AMA-licensed, so CPT modifiers are listed by code only. HCPCS Level
II modifiers are public (CMS); the short descriptions below are our own plain-language wording,
meant as a hint in the coder UI, not as the official descriptor.
"""

from __future__ import annotations

# CPT Appendix A modifiers, anesthesia physical status, and Category II exclusion modifiers.
CPT_MODIFIERS: frozenset[str] = frozenset(
    {
        "22", "23", "24", "25", "26", "27", "32", "33", "47", "50", "51", "52", "53", "54",
        "55", "56", "57", "58", "59", "62", "63", "66", "73", "74", "76", "77", "78", "79",
        "80", "81", "82", "90", "91", "92", "93", "95", "96", "97", "99",
        "P1", "P2", "P3", "P4", "P5", "P6",
        "1P", "2P", "3P", "8P",
    }
)  # fmt: skip

HCPCS_MODIFIERS: dict[str, str] = {
    # Anesthesia
    "AA": "Anesthesia performed personally by the anesthesiologist",
    "AD": "Physician supervising more than four concurrent anesthesia cases",
    "QK": "Medical direction of two to four concurrent anesthesia cases",
    "QS": "Monitored anesthesia care",
    "QX": "CRNA service with medical direction",
    "QY": "Medical direction of one CRNA",
    "QZ": "CRNA service without medical direction",
    "G8": "Monitored anesthesia care for deep, complex or invasive procedure",
    "G9": "Monitored anesthesia care for a patient with a severe cardiopulmonary condition",
    # Who performed the service
    "AI": "Principal physician of record",
    "AS": "Assistant at surgery who is a PA, NP or CNS",
    "GC": "Service performed in part by a resident under teaching physician direction",
    "GE": "Resident service without teaching physician presence (primary care exception)",
    "SA": "Nurse practitioner rendering service with a physician",
    "SB": "Nurse midwife",
    "Q5": "Reciprocal billing arrangement substitute physician",
    "Q6": "Fee-for-time compensation (locum tenens) physician",
    "CQ": "Outpatient therapy service in whole or part by a physical therapist assistant",
    "CO": "Outpatient therapy service in whole or part by an occupational therapy assistant",
    "FS": "Split or shared evaluation and management visit",
    "FT": "Unrelated evaluation and management visit during a global or critical care period",
    # Liability notices and policy
    "GA": "Waiver of liability (ABN) on file as required by payer policy",
    "GX": "Voluntary notice of liability issued, not required by payer policy",
    "GY": "Item or service statutorily excluded or not a covered benefit",
    "GZ": "Item or service expected to be denied; no ABN on file",
    "KX": "Requirements in the medical policy have been met",
    "CG": "Policy criteria applied",
    "EY": "No physician or practitioner order for the item or service",
    # Distinct procedural services (subsets of 59)
    "XE": "Separate encounter",
    "XP": "Separate practitioner",
    "XS": "Separate structure or organ",
    "XU": "Unusual non-overlapping service",
    # Anatomic
    "LT": "Left side",
    "RT": "Right side",
    "E1": "Upper left eyelid",
    "E2": "Lower left eyelid",
    "E3": "Upper right eyelid",
    "E4": "Lower right eyelid",
    "FA": "Left hand, thumb",
    "F1": "Left hand, second digit",
    "F2": "Left hand, third digit",
    "F3": "Left hand, fourth digit",
    "F4": "Left hand, fifth digit",
    "F5": "Right hand, thumb",
    "F6": "Right hand, second digit",
    "F7": "Right hand, third digit",
    "F8": "Right hand, fourth digit",
    "F9": "Right hand, fifth digit",
    "TA": "Left foot, great toe",
    "T1": "Left foot, second digit",
    "T2": "Left foot, third digit",
    "T3": "Left foot, fourth digit",
    "T4": "Left foot, fifth digit",
    "T5": "Right foot, great toe",
    "T6": "Right foot, second digit",
    "T7": "Right foot, third digit",
    "T8": "Right foot, fourth digit",
    "T9": "Right foot, fifth digit",
    "LC": "Left circumflex coronary artery",
    "LD": "Left anterior descending coronary artery",
    "LM": "Left main coronary artery",
    "RC": "Right coronary artery",
    "RI": "Ramus intermedius coronary artery",
    # Telehealth
    "GT": "Interactive audio and video telecommunication",
    "GQ": "Asynchronous telecommunication",
    "FQ": "Service furnished using audio-only communication",
    "FR": "Supervising practitioner present through audio/video communication",
    # Components and settings
    "TC": "Technical component",
    "PO": "Service at an excepted off-campus provider-based department",
    "PN": "Non-excepted service at an off-campus provider-based department",
    "PD": "Diagnostic or related service within 3 days of an inpatient admission",
    "ER": "Service at an off-campus provider-based emergency department",
    "ET": "Emergency service",
    # Drugs
    "JW": "Drug amount discarded, not administered",
    "JZ": "Zero drug amount discarded",
    "JA": "Administered intravenously",
    "JB": "Administered subcutaneously",
    "JG": "Drug acquired at 340B discount price",
    "TB": "Drug acquired at 340B discount price (tracking)",
    "EA": "Anemia-stimulating agent for anemia from chemotherapy",
    "EB": "Anemia-stimulating agent for anemia from radiotherapy",
    "EC": "Anemia-stimulating agent for anemia not from chemo or radiotherapy",
    # Laboratory, screening, research
    "QW": "CLIA-waived test",
    "PT": "Colorectal screening converted to a diagnostic or therapeutic service",
    "Q0": "Investigational clinical service in an approved research study",
    "Q1": "Routine clinical service in an approved research study",
    "GG": "Screening and diagnostic mammogram on the same patient, same day",
    "GH": "Diagnostic mammogram converted from a screening mammogram, same day",
    # Therapy plans of care
    "GN": "Service under a speech-language pathology plan of care",
    "GO": "Service under an occupational therapy plan of care",
    "GP": "Service under a physical therapy plan of care",
    # Hospice and ESRD
    "GV": "Attending physician not employed or paid by the hospice",
    "GW": "Service not related to the hospice terminal condition",
    # DME
    "NU": "New equipment",
    "RR": "Rental",
    "UE": "Used durable equipment",
    "KH": "DMEPOS claim, initial rental month",
    "KI": "DMEPOS claim, second or third rental month",
    "KJ": "DMEPOS claim, rental months four to fifteen",
    # Wrong-surgery reporting
    "PA": "Surgical procedure on the wrong body part",
    "PB": "Surgical procedure on the wrong patient",
    "PC": "Wrong surgery on a patient",
    # Disaster, cost sharing, custody
    "CR": "Related to a catastrophe or disaster",
    "CS": "Cost sharing waived under a specific statute or policy",
    "QJ": "Patient in state or local custody; government meets payment conditions",
    # Behavioral health programs and provider credentials (frequent in Medicaid)
    "HA": "Child or adolescent program",
    "HB": "Adult program, non-geriatric",
    "HC": "Adult program, geriatric",
    "HE": "Mental health program",
    "HF": "Substance use program",
    "HN": "Bachelor's degree level clinician",
    "HO": "Master's degree level clinician",
    "HP": "Doctoral level clinician",
    "HQ": "Group setting",
    "TH": "Obstetrical treatment or services, prenatal or postpartum",
    "TS": "Follow-up service",
    "SL": "State-supplied vaccine",
    "AQ": "Service in an unlisted health professional shortage area",
    "AT": "Acute chiropractic treatment",
}

ALL_MODIFIERS: frozenset[str] = CPT_MODIFIERS | frozenset(HCPCS_MODIFIERS)


def is_modifier(code: str) -> bool:
    return "".join(code.split()).upper() in ALL_MODIFIERS


def describe_modifier(code: str) -> str | None:
    """A plain-language hint for HCPCS modifiers; None for CPT modifiers (licensed text)."""
    return HCPCS_MODIFIERS.get("".join(code.split()).upper())
