"""Read-only serving access to published bundles: customers, rows, recent items, item index."""
