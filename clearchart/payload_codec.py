"""Every Temporal payload encrypted with AES-256-GCM before it leaves the process.

Workflows carry ids, codes, states and hashes only, but history is kept by the Temporal server
(and its database and backups), so nothing in it is readable without our key. The key id rides
in each payload's metadata: after `clearchart keys rotate payload`, new payloads use the new key
and old histories still decrypt (replays included) because every key stays in the key file.
"""

import dataclasses
import os
from collections.abc import Iterable, Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

from clearchart.keys import load_keys
from clearchart.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class EncryptionCodec(PayloadCodec):
    def __init__(self, current: str, keys: dict[str, bytes]) -> None:
        self._current = current
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(self._decrypt_all(payloads))

    def _encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, payload.SerializeToString(), self._current.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: self._current.encode()}, data=nonce + sealed)

    def _decrypt_all(self, payloads: Iterable[Payload]) -> Iterable[Payload]:
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                yield p  # written before encryption was on: readable as it is
                continue
            kid = p.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(kid)
            if cipher is None:
                raise ValueError(f"payload encrypted with key {kid!r}, which this process does not hold")
            plain = cipher.decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], kid.encode())
            decoded = Payload()
            decoded.ParseFromString(plain)
            yield decoded


def payload_codec(settings: Settings) -> EncryptionCodec:
    found = load_keys(settings, "payload")
    return EncryptionCodec(found.current, found.keys)


def data_converter(settings: Settings) -> DataConverter:
    """The default converter with our codec: the client, and so its workers, encrypt everything."""
    return dataclasses.replace(DataConverter.default, payload_codec=payload_codec(settings))
