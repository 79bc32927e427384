"""Webhook source secrets are encrypted at rest; the webhook still verifies, old plain rows too."""

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import select, update

from clearchart.keys import rotate
from clearchart.secret_box import PREFIX, encrypt_stored_secrets, open_secret, seal, secret_keys
from clearchart.settings import Settings
from integrations.sandbox.bundles import synthetic_bundle
from models.encounters.tables import WebhookSource
from tests.support import Tenant


class TestWebhookSecrets:
    async def test_the_stored_secret_is_ciphertext_and_the_webhook_still_verifies(self, tenant: Tenant) -> None:
        async with tenant.stack.sessions() as session:
            stored = await session.scalar(select(WebhookSource.secret).where(WebhookSource.id == uuid.UUID(str(tenant.source_id))))
        assert stored is not None
        assert stored.startswith(PREFIX)
        assert tenant.secret not in stored
        assert tenant.secret.removeprefix("whsec_") not in stored
        assert open_secret(secret_keys(tenant.stack.settings), stored) == tenant.secret
        assert (await tenant.push(_bundle())).status_code == 202

    async def test_a_source_stored_before_encryption_still_verifies_and_migrate_encrypts_it(self, tenant: Tenant) -> None:
        async with tenant.stack.sessions.begin() as session:
            await session.execute(
                update(WebhookSource).where(WebhookSource.id == uuid.UUID(str(tenant.source_id))).values(secret=tenant.secret)
            )
        assert (await tenant.push(_bundle())).status_code == 202
        assert await asyncio.to_thread(encrypt_stored_secrets, tenant.stack.settings.database_url, secret_keys(tenant.stack.settings)) >= 1
        async with tenant.stack.sessions() as session:
            stored = await session.scalar(select(WebhookSource.secret).where(WebhookSource.id == uuid.UUID(str(tenant.source_id))))
        assert stored is not None
        assert stored.startswith(PREFIX)
        assert (await tenant.push(_bundle())).status_code == 202


def _bundle() -> dict[str, object]:
    key = uuid.uuid4().hex[:10]
    return synthetic_bundle(encounter_id=f"enc-{key}", patient_id=f"pt-{key}")


def test_secrets_survive_a_key_rotation(tmp_path: Path) -> None:
    settings = Settings(CLEARCHART_DATA_DIR=str(tmp_path))
    old = seal(secret_keys(settings), "whsec_abc")
    rotate(settings, "secrets")
    new = seal(secret_keys(settings), "whsec_abc")
    assert old != new
    assert old.split(":")[2] != new.split(":")[2]  # different key ids
    assert open_secret(secret_keys(settings), old) == open_secret(secret_keys(settings), new) == "whsec_abc"
