"""db upgrade."""

from __future__ import annotations

from pipeline.commands import EXIT_OK
from pipeline.commands.context import Context, open_store
from storage import migrate
from storage.database import redacted


async def db_upgrade(context: Context) -> int:
    store = await open_store(context)
    revision = await migrate.current_revision(store.engine)
    await store.engine.dispose()
    print(f"database {redacted(context.database_url)} is at revision {revision}")
    return EXIT_OK
