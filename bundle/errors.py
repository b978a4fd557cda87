"""The one error every part of the bundle contract raises.

It lives alone so that every module of `bundle/` can raise it without importing
the reader (which imports the checks, which raise it)."""

from __future__ import annotations


class BundleError(Exception):
    """A bundle is missing, unreadable, of a schema version this reader can't open, or corrupt.

    The message is complete and safe to show to a viewer: it names the bundle
    once and holds no filesystem path.
    """
