"""Altair chart builders, one module per page; nothing else."""
