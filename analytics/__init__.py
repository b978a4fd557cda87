"""Numbers derived from scores: risk bands and drift."""
