"""Keyed hashing of customer IDs (HMAC-SHA256), shared by training and the dashboard.

With `hash_ids = true` a training run replaces every customer ID by
HMAC-SHA256(key, ID) as 64 lowercase hex digits before anything is written, so
raw IDs never reach the bundle, its URLs, screens or exports. The key comes from
the environment variable CHURNLENS_ID_KEY only; it is never written into the
bundle or logged. The manifest records that IDs are hashed and how, nothing else.

A dashboard started with the same key accepts the raw ID a user types and looks
up its hash; without the key it accepts hashed IDs only and says so.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

KEY_ENV = "CHURNLENS_ID_KEY"
MAX_RAW_LENGTH = 256  # raw IDs typed into a dashboard of a hashed bundle
ALGORITHM = "HMAC-SHA256"
_HEX_ID = re.compile(r"^[0-9a-f]{64}$")


class MissingKey(Exception):
    """Hashing was asked for but no key is set."""


def key_from_env() -> bytes | None:
    value = os.environ.get(KEY_ENV)
    return value.encode("utf-8") if value else None


def require_key() -> bytes:
    key = key_from_env()
    if key is None:
        raise MissingKey(
            f"customers.hash_ids is on but the environment variable {KEY_ENV} is not set; "
            "set it to a secret (at least 16 characters) and keep it to use the dashboard with raw IDs"
        )
    if len(key) < 16:
        raise MissingKey(f"the key in {KEY_ENV} is too short ({len(key)} bytes); use at least 16 characters")
    return key


def hash_id(raw: object, key: bytes) -> str:
    """HMAC-SHA256 of the ID's text (integers as their decimal digits), as 64 hex digits."""
    return hmac.new(key, str(raw).encode("utf-8"), hashlib.sha256).hexdigest()


def looks_hashed(text: str) -> bool:
    return bool(_HEX_ID.fullmatch(text))


def manifest_entry() -> dict:
    return {"algorithm": ALGORITHM, "key": f"environment variable {KEY_ENV} (not stored)"}


def is_hashed(manifest: dict) -> bool:
    return isinstance(manifest.get("dataset", {}).get("id_hashing"), dict)


def stored_id(typed: str, manifest: dict, key: bytes | None) -> str:
    """What to look up in a bundle for what a user typed.

    Hashed bundle + key: a raw ID is hashed (a 64-hex hash is taken as is, so shared
    links, which carry hashes, still open). Hashed bundle, no key: only hashes.
    """
    text = typed.strip()
    if not is_hashed(manifest):
        return text
    if looks_hashed(text.lower()):
        return text.lower()
    if key is None:
        raise ValueError(
            "Customer IDs in this bundle are hashed and this dashboard has no key to hash what you type: "
            "enter the hashed ID (64 hex digits)."
        )
    return hash_id(text, key)
