"""Property tests: any input gives the FHIR and X12 readers a result or their own error type,
which the API maps to a 4xx; never another exception (that would be a 500)."""

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.billing.errors import X12ParseError
from integrations.billing.x277ca import parse_277ca
from integrations.billing.x835 import parse_835
from integrations.billing.x837p_reader import read_837p
from integrations.billing.x999 import parse_999
from integrations.ehr.bundle import parse_bundle
from integrations.ehr.errors import FhirValidationError
from integrations.sandbox.bundles import synthetic_bundle

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
X12_READERS: list[Callable[[str | bytes], object]] = [parse_835, parse_277ca, parse_999, read_837p]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)


def _webhook_body(body: bytes) -> None:
    """What the webhook route does with a body, raising only what it maps to 422."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return
    _bundle(data)


def _bundle(data: Any) -> None:
    try:
        intakes = parse_bundle(data)
    except FhirValidationError as exc:
        refusal = exc
    else:
        assert isinstance(intakes, list)
        return
    assert refusal.problems, "a refusal names what is wrong"


def _x12(reader: Callable[[str | bytes], object], data: str | bytes) -> None:
    try:
        reader(data)
    except X12ParseError as exc:
        refusal = exc
    else:
        return
    assert refusal.detail, "a refusal names what is wrong"


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*path, i))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


class TestFhirBundles:
    @PROPERTY
    @given(st.binary(max_size=2000))
    def test_any_bytes_are_read_or_refused(self, body: bytes) -> None:
        _webhook_body(body)

    @PROPERTY
    @given(json_values)
    def test_any_json_is_read_or_refused(self, data: Any) -> None:
        _bundle(data)

    @PROPERTY
    @given(st.data(), json_values)
    def test_a_real_bundle_with_any_part_replaced_is_read_or_refused(self, data: st.DataObject, new: Any) -> None:
        bundle = synthetic_bundle(encounter_id="enc-prop", patient_id="pt-prop")
        path = data.draw(st.sampled_from(_paths(bundle)))
        _bundle(_replace(bundle, path, new))


class TestX12Files:
    @PROPERTY
    @given(st.sampled_from(X12_READERS), st.binary(max_size=2000))
    def test_any_bytes_are_read_or_refused(self, reader: Callable[[str | bytes], object], body: bytes) -> None:
        _x12(reader, body)

    @PROPERTY
    @given(
        st.sampled_from(X12_READERS),
        st.lists(st.lists(st.text(alphabet="ISAGSTBPRCLMNM1SVDCAS0123456789.:*^ -", max_size=12), max_size=8), max_size=20),
    )
    def test_any_segments_are_read_or_refused(self, reader: Callable[[str | bytes], object], segments: list[list[str]]) -> None:
        text = "~".join("*".join(elements) for elements in segments)
        _x12(reader, text)
