"""The storage tests run on SQLite and on the real PostgreSQL."""

from tests.databases import any_database_url

database_url = any_database_url
