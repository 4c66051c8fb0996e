"""What every command gets: settings, arguments, and the database opened and migrated."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from pipeline.rules import RuleSet, load_rules
from pipeline.settings import LoadedSettings, Settings
from storage import migrate
from storage.database import DatabaseError, create_engine, redacted
from storage.store import Store, database_reason


class CommandError(Exception):
    """Bad input to a command; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class Context:
    loaded: LoadedSettings
    args: argparse.Namespace

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @property
    def database_url(self) -> str:
        url: str = self.args.database or self.settings.database_url
        return url


async def open_store(context: Context) -> Store:
    """Connect and bring the schema up to date; a clear DatabaseError if either fails."""
    url = context.database_url
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    except (OSError, SQLAlchemyError) as error:
        await engine.dispose()
        reason = database_reason(error)
        raise DatabaseError(f"cannot use database {redacted(url)}: {reason}") from None
    return Store(engine)


def load_rules_for(context: Context) -> RuleSet:
    rules_path = context.loaded.resolve(context.settings.rules_file)
    if context.loaded.from_file or rules_path.exists():
        return load_rules(rules_path)
    print(f"rss-ingest: no {rules_path}: only trafilatura cleans the bodies", file=sys.stderr)
    return RuleSet()
