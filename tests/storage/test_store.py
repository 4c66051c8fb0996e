"""The Store's sessions: a database that cannot be reached is one of SQLAlchemy's errors."""

import pytest
from sqlalchemy import text

from storage.database import create_engine
from storage.store import DatabaseUnavailable, Store
from tests.helpers import free_port


async def test_an_unreachable_postgresql_is_a_database_error_with_the_reason() -> None:
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/test")
    store = Store(engine)
    for session_of in (store.reading, store.writing):
        with pytest.raises(
            DatabaseUnavailable,
            match=r"^cannot reach the database: \[Errno 111\] Connect call failed",
        ):
            async with session_of() as session:
                await session.execute(text("select 1"))
    await engine.dispose()


async def test_other_errors_pass_unchanged() -> None:
    engine = create_engine("sqlite:///:memory:")
    with pytest.raises(KeyError):
        async with Store(engine).reading():
            raise KeyError("not the database's")
    await engine.dispose()
