"""Screenshots of the web console's views (docs/images/console-<view>.png, 1280x800).

They are taken by the console's browser tests (tests/e2e/test_console.py) as they go: a real
`serve run` of serve_config.yaml, real photos, real answers. This runs those tests with
LUNA_CONSOLE_SCREENSHOTS set. It needs what they need: Chromium and chromedriver (Debian's
`chromium`, `chromium-driver`), the provisioned models and the test photos
(scripts/run-tests.sh sets those up), and a machine where a local Ray can start.

    .venv/bin/python scripts/console_screenshots.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Run the console's browser tests with screenshots on; list what they wrote."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    out = args.out.resolve()
    env = {
        **os.environ,
        "LUNA_CONSOLE_SCREENSHOTS": str(out),
        # A screenshot run without a browser is a failure, not a skip.
        "LUNA_REQUIRE_CHROMIUM": "1",
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-m",
        "e2e",
        "tests/e2e/test_console.py",
        # The auth-on test shows no view worth a picture.
        "-k",
        "not auth",
    ]
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    for shot in sorted(out.glob("console-*.png")):
        print(
            f"{shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot}: "
            f"{shot.stat().st_size // 1024} KiB"
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
