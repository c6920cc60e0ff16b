"""Credentials and headers every request of a client carries, for both clients."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

ACCOUNT_ID_HEADER = "Luna-Account-Id"
DEFAULT_URL = "http://127.0.0.1:5090"
DEFAULT_TIMEOUT_S = 60.0


def http_options(
    base_url: str,
    *,
    account_id: str | None,
    token: str | None,
    auth: tuple[str, str] | None,
    timeout: float | httpx.Timeout,
    headers: Mapping[str, str] | None,
) -> dict[str, Any]:
    """Keyword arguments of ``httpx.Client`` / ``httpx.AsyncClient`` for these credentials.

    ``account_id`` is LUNA's ``Luna-Account-Id`` (the account when authentication is off);
    ``token`` a bearer token; ``auth`` a login and password (Basic), which issuing tokens
    needs. With authentication on, the credentials decide the account.
    """
    if token is not None and auth is not None:
        raise ValueError("give a token or a login and password, not both")
    sent: dict[str, str] = dict(headers or {})
    if account_id is not None:
        sent[ACCOUNT_ID_HEADER] = account_id
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    options: dict[str, Any] = {
        "base_url": base_url.rstrip("/"),
        "headers": sent,
        "timeout": timeout,
    }
    if auth is not None:
        options["auth"] = httpx.BasicAuth(*auth)
    return options
