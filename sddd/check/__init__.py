"""Discoverability targets (a query and the document that must answer it) and their evaluation
against the index: ranks, scores, margins, gates and suggested queries."""
