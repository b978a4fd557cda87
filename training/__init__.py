"""Spark jobs that turn raw customer tables into a published explanation bundle.

Data flows one way: datasets → validate → features → models → explain → evaluate → publish.
Nothing here imports `dashboard`.
"""
