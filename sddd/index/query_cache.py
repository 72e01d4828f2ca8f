"""Query embeddings keyed by (model fingerprint, sha256 of the query), in ``queries.sqlite``
beside the index: a repeated query (every target of ``sddd check`` on an unchanged tree) loads
no model. The query's text is never stored, so a token pasted into a search does not end up in
a folder that CI caches; callers pass queries already redacted (``QueryEncoder`` does).
A cache that cannot be read or written only costs time."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np

TABLE = "query_vectors"
PLAIN_TABLE = "queries"  # before: keyed by the query's text


def query_key(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


class QueryCache:
    """Query embeddings keyed by (model fingerprint, query hash): a repeated query needs no model."""

    def __init__(self, folder: Path):
        self.path = folder / "queries.sqlite"

    def _connect(self) -> sqlite3.Connection | None:
        if not self.path.parent.is_dir():
            return None
        try:
            db = sqlite3.connect(self.path, timeout=5)
            db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (fingerprint TEXT, key TEXT, vector BLOB, "
                       "PRIMARY KEY (fingerprint, key))")
            _forget_plain_queries(db)
            return db
        except sqlite3.DatabaseError:
            return None

    def get_many(self, fingerprint: str, queries: list[str]) -> dict[str, np.ndarray]:
        db = self._connect()
        if db is None:
            return {}
        try:
            keys = {query_key(q): q for q in queries}
            out: dict[str, np.ndarray] = {}
            wanted = list(keys)
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                marks = ",".join("?" * len(part))
                for key, blob in db.execute(
                    f"SELECT key, vector FROM {TABLE} WHERE fingerprint = ? AND key IN ({marks})",
                    [fingerprint, *part],
                ):
                    out[keys[key]] = np.frombuffer(blob, dtype=np.float32)
            return out
        except sqlite3.DatabaseError:
            return {}
        finally:
            db.close()

    def put_many(self, fingerprint: str, items: dict[str, np.ndarray]) -> None:
        db = self._connect()
        if db is None:
            return
        try:
            with db:
                db.executemany(
                    f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?)",
                    [(fingerprint, query_key(q), np.asarray(v, dtype=np.float32).tobytes())
                     for q, v in items.items()],
                )
        except sqlite3.DatabaseError:
            pass  # a cache that cannot be written only costs time
        finally:
            db.close()


def _forget_plain_queries(db: sqlite3.Connection) -> None:
    """Drop the old table that held queries in plain text, and VACUUM so that its pages (and
    any token pasted into a query) leave the file too; once, on the first connect."""
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                       (PLAIN_TABLE,)).fetchone()
    if found:
        db.execute(f"DROP TABLE {PLAIN_TABLE}")
        db.commit()
        db.execute("VACUUM")
