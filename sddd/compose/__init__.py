"""Compose profiles: base + size files merged and interpolated as Docker Compose v2 does, vLLM
arguments read from their commands, lint rules over a resolved service, and the detector of
superseded variant copies."""
