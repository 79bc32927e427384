"""DocumentReferences: which encounter each belongs to, and their content.

Content is taken from the first attachment carrying inline ``data`` (decoded so coders can read
it), else the first with a ``url``. ``DocumentIn.sha256`` is always a SHA-256 hex digest — of
the decoded bytes, or of the URL string — so duplicates can be recognised; R4's own
``Attachment.hash`` is SHA-1, so it is kept separately as ``attachment_hash`` instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from integrations.ehr.fhir import (
    concept_display,
    first_code,
    nonblank,
    obj,
    objs,
    parse_datetime,
)
from integrations.ehr.references import BundleIndex, Located
from integrations.ehr.schemas import DocumentIn

_TEXTUAL_SUFFIXES = ("json", "xml", "html")


def _encounter_refs(resource: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path suffix, reference) pairs: R4 ``context.encounter[*]``; R5-style ``context[*]``."""
    context = resource.get("context")
    if isinstance(context, list):
        return [(f"context[{i}]", ref) for i, ref in enumerate(context) if isinstance(ref, dict)]
    encounters = objs((obj(context) or {}).get("encounter"))
    return [(f"context.encounter[{i}]", ref) for i, ref in enumerate(encounters)]


def documents_by_encounter(index: BundleIndex, problems: list[str]) -> dict[int, list[DocumentIn]]:
    """Parse each DocumentReference once and file it under every encounter it links to.

    Keys are ``id()`` of the encounter resource dict. Documents linked to no encounter in the
    bundle are ignored: they are not this delivery's business.
    """
    filed: dict[int, list[DocumentIn]] = {}
    for loc in index.of_type("DocumentReference"):
        targets: list[int] = []
        for suffix, ref_obj in _encounter_refs(loc.resource):
            ref = nonblank(ref_obj.get("reference"))
            found = index.resolve(ref, loc) if ref else None
            if found is not None and found.type == "Encounter":
                targets.append(id(found.resource))
            elif ref and ref.startswith("urn:"):
                problems.append(
                    f"{loc.path}.{suffix}: reference {ref!r} does not resolve inside the bundle"
                )
        if not targets:
            continue
        document = _document(loc, problems)
        if document is None:
            continue
        for target in dict.fromkeys(targets):
            filed.setdefault(target, []).append(document)
    return filed


def _document(loc: Located, problems: list[str]) -> DocumentIn | None:
    res = loc.resource
    label = f"{loc.path} ({loc.label})"
    doc_id = loc.id
    status = nonblank(res.get("status"))
    if doc_id is None:
        problems.append(f"{loc.path} (DocumentReference): id is required")
    if status is None:
        problems.append(f"{label}: status is required")
    chosen = _choose_attachment(res)
    if chosen is None:
        problems.append(f"{label}: content needs an attachment with data or url")
        return None
    position, attachment = chosen
    path = f"{loc.path}.content[{position}].attachment"
    content_type = nonblank(attachment.get("contentType"))
    url = nonblank(attachment.get("url"))
    body: str | None = None
    data = attachment.get("data")
    if isinstance(data, str) and data.strip():
        try:
            raw = base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"{path}.data: not valid base64")
            return None
        digest = hashlib.sha256(raw).hexdigest()
        body = _decode_text(raw, content_type, f"{path}.data", problems)
    else:
        digest = hashlib.sha256((url or "").encode()).hexdigest()
    created = parse_datetime(attachment.get("creation"), f"{path}.creation", problems)
    if created is None and "creation" not in attachment:
        created = parse_datetime(res.get("date"), f"{loc.path}.date", problems)
    if doc_id is None or status is None:
        return None
    return DocumentIn(
        external_id=doc_id,
        type_code=first_code(res.get("type")),
        type_display=concept_display(res.get("type")),
        status=status,
        content_type=content_type,
        text=body,
        url=url,
        sha256=digest,
        created=created,
        title=nonblank(attachment.get("title")) or nonblank(res.get("description")),
        attachment_hash=nonblank(attachment.get("hash")),
    )


def _choose_attachment(resource: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    attachments = [
        (i, att)
        for i, content in enumerate(objs(resource.get("content")))
        if (att := obj(content.get("attachment"))) is not None
    ]
    with_data = [a for a in attachments if nonblank(a[1].get("data"))]
    with_url = [a for a in attachments if nonblank(a[1].get("url"))]
    candidates = with_data or with_url
    return candidates[0] if candidates else None


def _decode_text(
    raw: bytes, content_type: str | None, path: str, problems: list[str]
) -> str | None:
    """Decode textual content with its declared charset; binary content yields None."""
    media, _, params = (content_type or "").partition(";")
    media = media.strip().lower()
    textual = media.startswith("text/") or media.endswith(_TEXTUAL_SUFFIXES)
    if media and not textual:
        return None
    charset = "utf-8"
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        return raw.decode(charset)
    except LookupError:
        return raw.decode("utf-8", errors="replace")
    except UnicodeDecodeError:
        if media:
            problems.append(f"{path}: declared {content_type!r} but is not valid {charset} text")
        return None
