"""Key material that must not live in the database: chain (HMAC), checkpoint signing (Ed25519),
Temporal payload encryption (AES-256-GCM) and secrets-at-rest keys.

One JSON file, outside PostgreSQL (CLEARCHART_KEY_FILE, default `<data_dir>/keys.json`, mode
0600), holds each kind as `{"current": id, "keys": {id: base64}}`. It is created with fresh
keys on first use; `clearchart keys rotate KIND` adds a key and makes it current, keeping the
old ones so everything they protected still verifies or decrypts.
"""

import base64
import contextlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import structlog

from clearchart.settings import Settings
from models.evidence.chain import Keyring

log = structlog.get_logger(__name__)

KeyKind = Literal["chain", "signing", "payload", "secrets"]
KINDS: tuple[KeyKind, ...] = ("chain", "signing", "payload", "secrets")
KEY_BYTES = 32  # HMAC-SHA256 key, Ed25519 seed, AES-256 key alike


@dataclass(frozen=True)
class KeySet:
    current: str
    keys: dict[str, bytes]

    @property
    def key(self) -> bytes:
        return self.keys[self.current]


def key_file(settings: Settings) -> Path:
    return settings.key_file or settings.data_dir / "keys.json"


def _fresh(kind: str, n: int = 1) -> tuple[str, str]:
    return f"{kind[0]}{n}-{secrets.token_hex(3)}", base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def _write_new(path: Path, doc: dict[str, object]) -> None:
    """Create `path` atomically; if another process won the race, keep its file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=2)
        os.chmod(tmp, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def _read(path: Path) -> dict[str, dict[str, object]]:
    if not path.exists():
        doc: dict[str, object] = {}
        for kind in KINDS:
            kid, value = _fresh(kind)
            doc[kind] = {"current": kid, "keys": {kid: value}}
        _write_new(path, doc)
        log.info("keys.created", path=str(path))
    loaded: dict[str, dict[str, object]] = json.loads(path.read_text())
    return loaded


def load_keys(settings: Settings, kind: KeyKind) -> KeySet:
    path = key_file(settings)
    doc = _read(path)
    if kind not in doc:  # a file from before this kind existed: add it once
        kid, value = _fresh(kind)
        doc[kind] = {"current": kid, "keys": {kid: value}}
        _replace(path, doc)
    entry = doc[kind]
    raw = entry["keys"]
    assert isinstance(raw, dict)
    return KeySet(str(entry["current"]), {k: base64.b64decode(v) for k, v in raw.items()})


def _replace(path: Path, doc: dict[str, dict[str, object]]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def rotate(settings: Settings, kind: KeyKind) -> str:
    """Add a key of `kind` and make it current; returns the new key id."""
    path = key_file(settings)
    doc = _read(path)
    entry = doc.setdefault(kind, {"current": "", "keys": {}})
    keys = entry["keys"]
    assert isinstance(keys, dict)
    kid, value = _fresh(kind, len(keys) + 1)
    keys[kid] = value
    entry["current"] = kid
    _replace(path, doc)
    log.info("keys.rotated", kind=kind, key_id=kid)
    return kid


def chain_keyring(settings: Settings) -> Keyring:
    """The audit chain's HMAC keys: the current one seals, every one verifies."""
    found = load_keys(settings, "chain")
    return Keyring(found.current, found.keys)
