"""The runtime's own error: `runtime` imports nothing of ours, so callers that speak in
bundles (`bundle/models.py`) turn it into their own refusal, keeping the message."""

from __future__ import annotations


class ModelFileError(ValueError):
    """A model's portable files are missing, malformed or of a kind nobody registered."""
