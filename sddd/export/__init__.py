"""Exports of the resolved profiles to engines sddd does not drive itself: plain Kubernetes
manifests and values for vLLM's production-stack Helm chart (``sddd export kubernetes``).
Applying them to a cluster is the user's kubectl or helm step."""
