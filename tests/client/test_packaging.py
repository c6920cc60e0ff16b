"""luna-client stands alone: its distribution depends on httpx, msgpack and pydantic only,
and importing it loads neither numpy nor the server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "client" / "pyproject.toml"


def test_dependencies_are_httpx_msgpack_and_pydantic():
    # tomllib is 3.11+ and the project supports 3.10: the two entries are read as text.
    text = PYPROJECT.read_text()
    assert re.search(r'^name = "luna-client"$', text, re.M)
    [dependencies] = re.findall(r"^dependencies = \[(.*?)\]", text, re.M | re.S)
    names = {re.split(r"[<>=!~ ]", dep)[0] for dep in re.findall(r'"([^"]+)"', dependencies)}
    assert names == {"httpx", "msgpack", "pydantic"}


def test_import_loads_no_server_and_no_numpy():
    code = (
        "import sys, luna_client; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numpy', 'serve_app', 'models', 'deployments', 'ray', 'fastapi')); "
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
