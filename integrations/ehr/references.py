"""Resolve FHIR references inside one Bundle.

EHRs mix reference styles in a single feed: ``urn:uuid:`` (transaction bundles, matched to an
entry's ``fullUrl``), relative ``Patient/123``, absolute ``https://host/fhir/Patient/123``,
contained ``#id`` and conditional ``Practitioner?identifier=system|value`` (Synthea). Resolution
is by identity of the entry, so callers compare resources with ``is``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from integrations.ehr.fhir import has_identifier, nonblank, objs


@dataclass(frozen=True)
class Located:
    """A resource and where it sits in the bundle, for problem messages."""

    path: str
    resource: dict[str, Any]
    full_url: str | None = None

    @property
    def type(self) -> str:
        return str(self.resource.get("resourceType"))

    @property
    def id(self) -> str | None:
        """The logical id; from an absolute ``fullUrl`` when a POSTed resource omits it."""
        own = nonblank(self.resource.get("id"))
        if own or not self.full_url or self.full_url.startswith("urn:"):
            return own
        key = _type_id(self.full_url)
        return key.split("/")[1] if key and key.startswith(f"{self.type}/") else None

    @property
    def label(self) -> str:
        return f"{self.type}/{self.id}" if self.id else self.type


@dataclass(frozen=True)
class Conditional:
    """A conditional reference reduced to the identifier it searches for."""

    type: str
    system: str | None
    value: str


def _strip_history(reference: str) -> str:
    head, sep, _ = reference.partition("/_history/")
    return head if sep else reference


def _type_id(reference: str) -> str | None:
    """The trailing ``Type/id`` of a relative or absolute reference."""
    parts = _strip_history(reference).rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2][:1].isupper() and parts[-1]:
        return f"{parts[-2]}/{parts[-1]}"
    return None


def parse_conditional(reference: str) -> Conditional | None:
    """Parse ``Type?identifier=system|value``; other search parameters are not supported."""
    rtype, sep, query = reference.partition("?")
    if not sep or "/" in rtype or not rtype:
        return None
    for name, raw in parse_qsl(query, keep_blank_values=True):
        if name == "identifier" and raw:
            system, bar, value = raw.rpartition("|")
            return Conditional(rtype, (system or None) if bar else None, value)
    return None


def reference_type(reference: str) -> str | None:
    """The resource type a reference names, when its form says so (not for ``urn:``)."""
    conditional = parse_conditional(reference)
    if conditional:
        return conditional.type
    key = _type_id(reference) if not reference.startswith(("urn:", "#")) else None
    return key.split("/")[0] if key else None


def reference_id(reference: str) -> str | None:
    """The logical id a relative/absolute reference names (``Patient/123`` → ``123``)."""
    key = _type_id(reference) if not reference.startswith(("urn:", "#")) else None
    return key.split("/")[1] if key else None


class BundleIndex:
    """Lookup tables over a bundle's entries, built once per parse."""

    def __init__(self, located: list[Located], full_urls: dict[str, Located]) -> None:
        self.located = located
        self._by_url = full_urls
        self._by_key: dict[str, Located] = {}
        self._by_type: dict[str, list[Located]] = {}
        # Derived lookups callers build once per bundle (a 1,000-encounter bundle stays linear).
        self.memo: dict[str, Any] = {}
        for loc in located:
            self._by_type.setdefault(loc.type, []).append(loc)
            if loc.id:
                self._by_key.setdefault(f"{loc.type}/{loc.id}", loc)
        for url, loc in full_urls.items():
            key = None if url.startswith("urn:") else _type_id(url)
            if key:
                self._by_key.setdefault(key, loc)

    def of_type(self, resource_type: str) -> list[Located]:
        return list(self._by_type.get(resource_type, ()))

    def resolve(self, reference: str, container: Located | None = None) -> Located | None:
        """Find the resource a reference points at, or None when it is not in the bundle."""
        if reference.startswith("#"):
            return self._contained(reference[1:], container)
        if reference in self._by_url:
            return self._by_url[reference]
        conditional = parse_conditional(reference)
        if conditional:
            return next(
                (
                    loc
                    for loc in self.of_type(conditional.type)
                    if has_identifier(loc.resource, conditional.system, conditional.value)
                ),
                None,
            )
        if reference.startswith("urn:"):
            return None
        key = _type_id(reference)
        return self._by_key.get(key) if key else None

    @staticmethod
    def _contained(local_id: str, container: Located | None) -> Located | None:
        if container is None:
            return None
        for position, item in enumerate(objs(container.resource.get("contained"))):
            if item.get("id") == local_id:
                return Located(f"{container.path}.contained[{position}]", item)
        return None
