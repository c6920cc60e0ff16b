"""When to send a request again, and after how long.

The service refuses work it cannot take with 503 (its queue is full: LUNA's 2; its database
is unreachable: 11) or 429 (the account is over its rate: 90001), with ``Retry-After``. A
refusal of a full queue or of the rate limit comes before any work, so even a request that
stores something (``POST /1/handlers/{id}/events``) may be sent again. Any other 503 may come
after part of the work was done, so only idempotent requests are repeated after one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from luna_client.errors import retry_after_seconds

# LUNA codes of refusals made before the request did any work.
REFUSED_BEFORE_WORK = frozenset({2, 90001})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff on 503 and 429, honouring ``Retry-After``.

    ``attempts`` counts every try (1 turns retries off). The n-th retry waits
    ``backoff * 2**(n-1)`` seconds, at most ``max_backoff``, with up to ``jitter`` of it
    added at random so that clients refused together do not return together; a
    ``Retry-After`` longer than that is waited instead. A ``Retry-After`` over
    ``max_retry_after`` is not waited for: the error is raised.
    """

    attempts: int = 4
    backoff: float = 0.25
    max_backoff: float = 8.0
    jitter: float = 0.1
    max_retry_after: float = 60.0
    statuses: frozenset[int] = frozenset({429, 503})
    retry_connect_errors: bool = True

    def should_retry(self, attempt: int, response: httpx.Response, idempotent: bool) -> bool:
        """Whether to send again after ``response`` to try number ``attempt`` (from 1)."""
        if attempt >= self.attempts or response.status_code not in self.statuses:
            return False
        if idempotent or response.status_code == 429:
            return True
        return _luna_code(response) in REFUSED_BEFORE_WORK

    def should_retry_error(
        self, attempt: int, error: httpx.TransportError, idempotent: bool
    ) -> bool:
        """Whether to send again after a transport failure. A request that could not connect
        never reached the service; any other failure may have, so only idempotent requests
        are sent again after it."""
        if attempt >= self.attempts:
            return False
        if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout)):
            return self.retry_connect_errors
        return idempotent and isinstance(error, (httpx.ReadError, httpx.RemoteProtocolError))

    def wait_after_response(
        self, attempt: int, response: httpx.Response, idempotent: bool
    ) -> float | None:
        """Seconds to wait before sending again after ``response`` to try ``attempt``; None
        to stop there (success, an error not retried, or tries used up)."""
        if not self.should_retry(attempt, response, idempotent):
            return None
        return self.delay(attempt, response)

    def wait_after_error(
        self, attempt: int, error: httpx.TransportError, idempotent: bool
    ) -> float | None:
        """Seconds to wait before sending again after a transport failure; None to raise it."""
        if not self.should_retry_error(attempt, error, idempotent):
            return None
        return self.delay(attempt)

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float | None:
        """Seconds to wait before try ``attempt + 1``; None when the server asks for longer
        than ``max_retry_after``."""
        wait = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        wait += random.uniform(0, self.jitter * wait)
        retry_after = retry_after_seconds(response) if response is not None else None
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            wait = max(wait, retry_after)
        return wait


NO_RETRY = RetryPolicy(attempts=1)


def _luna_code(response: httpx.Response) -> int | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("error_code") if isinstance(body, dict) else None
    return code if isinstance(code, int) else None
