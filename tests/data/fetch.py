"""Fetch the test photos listed in photos.yaml into .data/testdata/, checking each sha256.

Usage: ``python -m tests.data.fetch``. Idempotent; the photos are never committed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from models import paths
from models.provision.fetch import FetchError, Source, fetch

LIST = Path(__file__).with_name("photos.yaml")


def photo_dir() -> Path:
    """Where the test photos live."""
    return paths.data_dir() / "testdata"


def catalogue() -> dict[str, dict[str, Any]]:
    """Every test photo's entry, by file name."""
    with open(LIST) as stream:
        return yaml.safe_load(stream)["photos"]


def main() -> int:
    """Fetch every photo; exit status 1 when one cannot be fetched or checked."""
    target = photo_dir()
    try:
        for name, entry in catalogue().items():
            fresh = fetch(
                Source.from_dict(entry["source"]),
                entry["sha256"],
                target / name,
                paths.data_dir() / "cache",
            )
            print(f"{name}: {'fetched' if fresh else 'present'}")
    except FetchError as exc:
        print(f"test data: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
