"""Keys outside the database, rotation that keeps old chains verifiable, signed checkpoints."""

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload

from clearchart.keys import chain_keyring, key_file, load_keys, rotate
from clearchart.payload_codec import payload_codec
from clearchart.settings import Settings
from models.evidence.chain import GENESIS, Keyring, event_hash, hashed_fields, verify_chain
from models.evidence.checkpoint import check_signature, fingerprint, public_key, sign_checkpoint


def event(seq: int, key_id: str | None) -> dict[str, object]:
    return hashed_fields(
        encounter_id="e1", seq=seq, actor="coder-1", role="coder", vendor="v1", action=f"a{seq}", before={}, after={},
        reason=None, occurred_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=seq), facts={"encounter": {"row": "x"}},
        key_id=key_id,
    )  # fmt: skip


class TestKeyFile:
    def test_created_once_private_and_rotation_keeps_old_keys(self, tmp_path: Path) -> None:
        settings = Settings(CLEARCHART_DATA_DIR=str(tmp_path))
        first = chain_keyring(settings)
        path = key_file(settings)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert chain_keyring(settings) == first  # read back, not regenerated
        new = rotate(settings, "chain")
        after = chain_keyring(settings)
        assert after.current == new != first.current
        assert after.keys[first.current] == first.keys[first.current]
        assert set(json.loads(path.read_text())) == {"chain", "signing", "payload", "secrets"}
        assert len(load_keys(settings, "payload").key) == 32


class TestKeyedChain:
    def test_a_chain_spanning_a_rotation_verifies_with_both_keys_and_not_without(self) -> None:
        old, new = Keyring("k1", {"k1": b"a" * 32}), Keyring("k2", {"k1": b"a" * 32, "k2": b"b" * 32})
        events, prev = [], GENESIS
        for seq, ring in ((1, old), (2, old), (3, new)):
            fields = event(seq, ring.current)
            digest = ring.seal(prev, fields)
            events.append((fields, prev, digest))
            prev = digest
        assert verify_chain(events, new) is None
        missing = verify_chain(events, Keyring("k2", {"k2": b"b" * 32}))
        assert missing is not None
        assert "does not hold" in missing.problem
        assert verify_chain(events) is not None  # no key: nothing keyed verifies

    def test_an_unkeyed_event_after_keyed_ones_is_a_downgrade(self) -> None:
        ring = Keyring("k1", {"k1": b"a" * 32})
        first = event(1, "k1")
        h1 = ring.seal(GENESIS, first)
        second = event(2, None)
        broken = verify_chain([(first, GENESIS, h1), (second, h1, event_hash(h1, second))], ring)
        assert broken is not None
        assert broken.seq == 2
        assert "unkeyed" in broken.problem


class TestCheckpoint:
    def test_a_signed_checkpoint_verifies_and_any_edit_or_other_signer_is_refused(self) -> None:
        seed = b"s" * 32
        signed = sign_checkpoint(
            [{"tenant_id": "t1", "ledger_seq": 7, "ledger_hash": "ab" * 32}], created_at=datetime(2026, 1, 1, tzinfo=UTC),
            key_id="s1", seed=seed,
        )  # fmt: skip
        assert check_signature(signed) is None
        assert check_signature(signed, pinned=fingerprint(public_key(seed))) is None
        edited = {**signed, "tenants": [{"tenant_id": "t1", "ledger_seq": 6, "ledger_hash": "ab" * 32}]}
        assert "altered" in (check_signature(edited) or "")
        other = sign_checkpoint(signed["tenants"], created_at=datetime(2026, 1, 1, tzinfo=UTC), key_id="s9", seed=b"o" * 32)
        assert "not by the pinned key" in (check_signature(other, pinned=fingerprint(public_key(seed))) or "")


class TestPayloadCodec:
    async def test_payloads_round_trip_and_survive_a_key_rotation(self, tmp_path: Path) -> None:
        settings = Settings(CLEARCHART_DATA_DIR=str(tmp_path))
        before = payload_codec(settings)
        plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"encounter_id": "e1", "code": "E11.65"}')
        (sealed,) = await before.encode([plain])
        assert b"E11.65" not in sealed.data
        assert sealed.metadata["encoding"] == b"binary/encrypted"
        first_key = sealed.metadata["encryption-key-id"]
        rotate(settings, "payload")
        after = payload_codec(settings)
        (fresh,) = await after.encode([plain])
        assert fresh.metadata["encryption-key-id"] != first_key
        assert await after.decode([sealed, fresh, plain]) == [plain, plain, plain]  # old, new, never encrypted

    async def test_a_payload_under_an_unknown_key_or_altered_is_refused(self, tmp_path: Path) -> None:
        ours = payload_codec(Settings(CLEARCHART_DATA_DIR=str(tmp_path / "a")))
        theirs = payload_codec(Settings(CLEARCHART_DATA_DIR=str(tmp_path / "b")))
        (sealed,) = await theirs.encode([Payload(data=b"x")])
        with pytest.raises(ValueError, match="does not hold"):
            await ours.decode([sealed])
        (mine,) = await ours.encode([Payload(data=b"x")])
        altered = Payload(metadata=dict(mine.metadata), data=mine.data[:-1] + bytes([mine.data[-1] ^ 1]))
        with pytest.raises(InvalidTag):
            await ours.decode([altered])
