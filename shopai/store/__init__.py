"""The shop's SQLite store: connections, schema and migrations, common queries."""
from shopai.store.db import connect, open_store, transaction
from shopai.store.schema import SCHEMA_VERSION, migrate

__all__ = ["connect", "open_store", "transaction", "migrate", "SCHEMA_VERSION"]
