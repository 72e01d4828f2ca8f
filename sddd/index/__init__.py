"""The searchable index: which files it covers (corpus), how they are cut (chunking, Markdown and
compose chunks), embedded (encoders), stored (FAISS + SQLite, lexical FTS5), kept fresh (indexer)
and ranked (search)."""
