"""Query embeddings keyed by (model fingerprint, query text), in ``queries.sqlite`` beside the
index: a repeated query (every target of ``sddd check`` on an unchanged tree) loads no model.
A cache that cannot be read or written only costs time."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np


class QueryCache:
    """Query embeddings keyed by (model fingerprint, query text): a repeated query needs no model."""

    def __init__(self, folder: Path):
        self.path = folder / "queries.sqlite"

    def _connect(self) -> sqlite3.Connection | None:
        if not self.path.parent.is_dir():
            return None
        try:
            db = sqlite3.connect(self.path, timeout=5)
            db.execute(
                "CREATE TABLE IF NOT EXISTS queries (fingerprint TEXT, query TEXT, vector BLOB, "
                "PRIMARY KEY (fingerprint, query))"
            )
            return db
        except sqlite3.DatabaseError:
            return None

    def get_many(self, fingerprint: str, queries: list[str]) -> dict[str, np.ndarray]:
        db = self._connect()
        if db is None:
            return {}
        try:
            out: dict[str, np.ndarray] = {}
            for start in range(0, len(queries), 500):
                part = queries[start : start + 500]
                marks = ",".join("?" * len(part))
                for query, blob in db.execute(
                    f"SELECT query, vector FROM queries WHERE fingerprint = ? AND query IN ({marks})",
                    [fingerprint, *part],
                ):
                    out[query] = np.frombuffer(blob, dtype=np.float32)
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
                    "INSERT OR REPLACE INTO queries VALUES (?, ?, ?)",
                    [(fingerprint, q, np.asarray(v, dtype=np.float32).tobytes()) for q, v in items.items()],
                )
        except sqlite3.DatabaseError:
            pass  # a cache that cannot be written only costs time
        finally:
            db.close()

