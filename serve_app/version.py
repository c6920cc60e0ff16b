"""Versions: the LUNA Handlers API this service speaks, and the service's own release."""

from __future__ import annotations

from importlib import metadata

API_VERSION = 1
# The LUNA Handlers release whose REST API this service implements.
COMPATIBLE_HANDLERS = (2, 16, 1)
PACKAGE = "luna-serve"


def service_version() -> str:
    """This package's version, or "unknown" when run from a source tree without installing."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


def version_body() -> dict:
    """The body of ``GET /version``."""
    major, minor, patch = COMPATIBLE_HANDLERS
    return {
        "Version": {"api": API_VERSION, "major": major, "minor": minor, "patch": patch},
        "service": {"name": PACKAGE, "version": service_version()},
    }
