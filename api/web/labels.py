"""Names a person reads instead of machine paths: "procedures[0].modifiers[0]" -> "Procedure 1, modifier 1"."""

import re

from api.web.render import TEMPLATES

NOUNS = {
    "diagnoses": "Diagnosis", "procedures": "Procedure", "modifiers": "modifier", "pointers": "diagnosis pointer",
    "evidence": "evidence", "indicators": "indicator", "findings": "Finding", "options": "option", "lines": "Line",
}


def human_path(path: str) -> str:
    parts = [p for p in re.sub(r"\[(\d+)\]", r".\1", str(path).removeprefix("body.")).split(".") if p]
    out: list[str] = []
    i = 0
    while i < len(parts):
        word = NOUNS.get(parts[i], parts[i].replace("_", " "))
        if i + 1 < len(parts) and parts[i + 1].isdigit():
            out.append(f"{word} {int(parts[i + 1]) + 1}")
            i += 2
        else:
            out.append(word)
            i += 1
    text = ", ".join(out)
    return text[:1].upper() + text[1:]


TEMPLATES.env.filters["human_path"] = human_path
