"""Retiring superseded files into dated archive folders, losing nothing: plan and apply,
restore, the manifest and README, the crash journal, and the little git it needs."""
