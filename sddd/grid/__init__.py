"""The grid search of vLLM settings: the grid file (spec), its variants written as Compose
overrides (variants), the runner that deploys, waits, measures and records each one (runner,
measure, store, host), the report with its champion (report, page) and applying the champion
to the profile (apply)."""
