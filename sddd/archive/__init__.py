"""Retiring superseded files into dated archive folders, losing nothing: plan and apply,
restore, the manifest and README, the crash journal, and the little git it needs."""

# The journal an interrupted archive or restore leaves in the archives folder. Named here so
# that every command can look for it (one stat) without importing the archiving machinery.
JOURNAL_NAME = ".sddd-journal.json"
