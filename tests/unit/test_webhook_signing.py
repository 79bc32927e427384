"""Standard Webhooks signing, cross-checked against the reference ``standardwebhooks`` package."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError as ReferenceError_

from integrations.ehr.errors import WebhookVerificationError
from integrations.ehr.signing import generate_secret, sign, signed_headers, verify

BODY = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": []}).encode()
TS = 1_700_000_000
NOW = datetime.fromtimestamp(TS, tz=UTC)


@pytest.fixture
def secret() -> str:
    return generate_secret()


class TestGenerateSecret:
    def test_is_prefixed_base64_of_32_bytes(self, secret: str) -> None:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32

    def test_is_random(self) -> None:
        assert generate_secret() != generate_secret()


class TestSign:
    def test_matches_the_reference_package(self, secret: str) -> None:
        expected = Webhook(secret).sign("msg_1", NOW, BODY.decode())
        assert sign(secret, "msg_1", TS, BODY) == expected

    def test_known_vector_from_the_spec_examples(self) -> None:
        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        body = b'{"test": 2432232314}'
        assert (
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
            == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        )

    def test_accepts_secret_without_prefix(self, secret: str) -> None:
        bare = secret.removeprefix("whsec_")
        assert sign(bare, "m", TS, BODY) == sign(secret, "m", TS, BODY)

    def test_rejects_a_secret_that_is_not_base64(self) -> None:
        with pytest.raises(ValueError, match="not valid base64"):
            sign("whsec_not*base64!", "m", TS, BODY)


class TestVerify:
    def test_roundtrip_returns_the_webhook_id(self, secret: str) -> None:
        headers = signed_headers(secret, "msg_42", BODY, timestamp=TS)
        assert verify(secret, headers, BODY, now=NOW) == "msg_42"

    def test_accepts_headers_signed_by_the_reference_package(self, secret: str) -> None:
        now = datetime.now(UTC)
        ts = int(now.timestamp())
        headers = {
            "webhook-id": "msg_ref",
            "webhook-timestamp": str(ts),
            "webhook-signature": Webhook(secret).sign("msg_ref", now, BODY.decode()),
        }
        assert verify(secret, headers, BODY, now=now) == "msg_ref"

    def test_reference_package_accepts_our_headers(self, secret: str) -> None:
        headers = signed_headers(secret, "msg_ours", BODY)
        assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)

    def test_reference_package_rejects_our_headers_under_another_secret(self, secret: str) -> None:
        headers = signed_headers(generate_secret(), "msg_ours", BODY)
        with pytest.raises(ReferenceError_):
            Webhook(secret).verify(BODY, headers)

    def test_default_timestamp_is_now(self, secret: str) -> None:
        before = int(time.time())
        headers = signed_headers(secret, "m", BODY)
        assert before <= int(headers["webhook-timestamp"]) <= int(time.time())

    def test_header_names_are_case_insensitive(self, secret: str) -> None:
        headers = {k.upper(): v for k, v in signed_headers(secret, "m", BODY, TS).items()}
        assert verify(secret, headers, BODY, now=NOW) == "m"

    def test_any_of_several_rotated_signatures_passes(self, secret: str) -> None:
        old_secret = generate_secret()
        headers = signed_headers(secret, "m", BODY, TS)
        headers["webhook-signature"] = " ".join(
            [sign(old_secret, "m", TS, BODY), "v2,ignored", headers["webhook-signature"]]
        )
        assert verify(secret, headers, BODY, now=NOW) == "m"
        assert verify(old_secret, headers, BODY, now=NOW) == "m"

    def test_wrong_secret_is_refused(self, secret: str) -> None:
        headers = signed_headers(generate_secret(), "m", BODY, TS)
        with pytest.raises(WebhookVerificationError, match="no matching signature among 1"):
            verify(secret, headers, BODY, now=NOW)

    def test_tampered_body_is_refused(self, secret: str) -> None:
        headers = signed_headers(secret, "m", BODY, TS)
        with pytest.raises(WebhookVerificationError, match="byte-for-byte"):
            verify(secret, headers, BODY + b" ", now=NOW)

    def test_signature_for_another_id_is_refused(self, secret: str) -> None:
        headers = signed_headers(secret, "m1", BODY, TS)
        headers["webhook-id"] = "m2"
        with pytest.raises(WebhookVerificationError):
            verify(secret, headers, BODY, now=NOW)

    @pytest.mark.parametrize(
        ("missing", "named"),
        [
            (("webhook-id",), "webhook-id"),
            (("webhook-timestamp",), "webhook-timestamp"),
            (("webhook-signature",), "webhook-signature"),
            (("webhook-id", "webhook-signature"), "webhook-id, webhook-signature"),
        ],
    )
    def test_missing_headers_are_named(
        self, secret: str, missing: tuple[str, ...], named: str
    ) -> None:
        headers = signed_headers(secret, "m", BODY, TS)
        for name in missing:
            del headers[name]
        with pytest.raises(
            WebhookVerificationError, match=f"missing webhook header\\(s\\): {named};"
        ):
            verify(secret, headers, BODY, now=NOW)

    def test_blank_header_counts_as_missing(self, secret: str) -> None:
        headers = signed_headers(secret, "m", BODY, TS) | {"webhook-id": " "}
        with pytest.raises(WebhookVerificationError, match="webhook-id"):
            verify(secret, headers, BODY, now=NOW)

    @pytest.mark.parametrize("raw", ["soon", "1700000000.5", ""])
    def test_non_integer_timestamp_is_refused(self, secret: str, raw: str) -> None:
        headers = signed_headers(secret, "m", BODY, TS) | {"webhook-timestamp": raw}
        expected = "missing" if not raw else "must be integer Unix seconds"
        with pytest.raises(WebhookVerificationError, match=expected):
            verify(secret, headers, BODY, now=NOW)

    def test_signature_header_without_v1_entries_is_explained(self, secret: str) -> None:
        headers = signed_headers(secret, "m", BODY, TS) | {"webhook-signature": "v2,abc v1,%%%"}
        with pytest.raises(WebhookVerificationError, match="no 'v1,<base64>' entry"):
            verify(secret, headers, BODY, now=NOW)


class TestTolerance:
    @pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
    def test_within_five_minutes_either_side_passes(self, secret: str, offset: int) -> None:
        headers = signed_headers(secret, "m", BODY, TS + offset)
        assert verify(secret, headers, BODY, now=NOW) == "m"

    def test_too_old_says_by_how_much_and_the_tolerance(self, secret: str) -> None:
        headers = signed_headers(secret, "m", BODY, TS - 301)
        with pytest.raises(WebhookVerificationError) as caught:
            verify(secret, headers, BODY, now=NOW)
        assert "too old: 5m01s behind" in caught.value.detail
        assert "tolerance 5m00s" in caught.value.detail

    def test_too_new_says_by_how_much_and_the_tolerance(self, secret: str) -> None:
        headers = signed_headers(secret, "m", BODY, TS + 3600)
        with pytest.raises(
            WebhookVerificationError, match=r"too new: 60m00s ahead.*tolerance 5m00s"
        ):
            verify(secret, headers, BODY, now=NOW)

    def test_custom_tolerance(self, secret: str) -> None:
        headers = signed_headers(secret, "m", BODY, TS - 30)
        with pytest.raises(WebhookVerificationError, match="tolerance 10s"):
            verify(secret, headers, BODY, now=NOW, tolerance=timedelta(seconds=10))

    def test_stale_message_is_refused_before_checking_the_signature(self, secret: str) -> None:
        headers = signed_headers(generate_secret(), "m", BODY, TS - 3600)
        with pytest.raises(WebhookVerificationError, match="too old"):
            verify(secret, headers, BODY, now=NOW)

    def test_naive_now_is_a_programming_error(self, secret: str) -> None:
        headers = signed_headers(secret, "m", BODY, TS)
        with pytest.raises(ValueError, match="timezone-aware"):
            verify(secret, headers, BODY, now=NOW.replace(tzinfo=None))
