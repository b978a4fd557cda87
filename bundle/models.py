"""Bundle glue for the runtime: a bundle model's portable files and its `ModelRuntime`.

`runtime` knows nothing about bundles; this module reads a model's files through
the bundle's checksummed listing and turns the runtime's `ModelFileError` into a
`BundleError` that names the bundle and the model.
"""

from __future__ import annotations

from bundle.errors import BundleError
from bundle.files import Bundle
from bundle.manifest import feature_names
from runtime import Calibration, ModelFileError, ModelRuntime


def portable_files(bundle: Bundle, model: str) -> tuple[str, dict[str, bytes]]:
    """(runtime kind, {file name: bytes}) of one bundle model, read through the checksummed listing."""
    entry = bundle.manifest["models"][model]["runtime"]
    files = {name: bundle.file(relpath).read_bytes() for name, relpath in entry["files"].items()}
    return entry["kind"], files


def load_runtime(bundle: Bundle, model: str) -> ModelRuntime:
    """The runtime of `model` in `bundle`; raises `BundleError` with a readable message."""
    if model not in bundle.manifest["models"]:
        raise BundleError(f"Bundle '{bundle.name}' has no model '{model}'.")
    kind, files = portable_files(bundle, model)
    try:
        return ModelRuntime.from_files(
            model,
            kind,
            files,
            bundle.manifest["encoding"],
            feature_names(bundle.manifest),
            Calibration.from_manifest(bundle.manifest["models"][model]["calibration"]),
        )
    except ModelFileError as exc:
        raise BundleError(f"Model '{model}' of bundle '{bundle.name}' cannot run: {exc}") from exc
