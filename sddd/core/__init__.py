"""The ground floor: errors and exit codes, sddd.yaml and its typed options, YAML with line
numbers, atomic writes and locks, crash points for tests, secret detection. Imports nothing
else of sddd."""
