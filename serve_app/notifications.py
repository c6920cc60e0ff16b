"""Event notifications: an in-process hub that hands stored events to WebSocket subscribers.

A subscriber names an account and, optionally, a handler; it receives the bodies of the
events published for them through a bounded queue of its own. The publisher never waits: when
a subscriber's queue is full its oldest message is dropped (and counted), so one slow client
cannot hold back the event pipeline or the other subscribers.

The hub lives in one process. Events reach it through a fan-out (serve_app.fanout): with
several ingress replicas, each replica's hub also gets the events the others publish, so a
subscriber receives its account's events whichever replica made them (docs/shared-state.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from deployments import metrics

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 256


class Publisher(Protocol):
    """What publishes events for subscribers: a hub, or a fan-out to every replica's hub."""

    def publish(self, account_id: str, handler_id: str | None, body: dict[str, Any]) -> object:
        """Hand ``body`` to the subscribers of ``account_id`` (and ``handler_id``)."""
        ...


@dataclass(eq=False)
class Subscription:
    """One subscriber: what it listens to, its queue, and how many messages it lost."""

    account_id: str
    handler_id: str | None
    queue: asyncio.Queue[dict[str, Any]]
    dropped: int = field(default=0)

    def wants(self, handler_id: str | None) -> bool:
        """Whether an event of ``handler_id`` (in this account) is for this subscriber."""
        return self.handler_id is None or self.handler_id == handler_id

    def offer(self, body: dict[str, Any]) -> bool:
        """Queue ``body``, dropping the oldest queued message when full; False if one was."""
        lost = False
        while True:
            try:
                self.queue.put_nowait(body)
                return not lost
            except asyncio.QueueFull:
                # The newest events matter most to a live view: the oldest one makes room.
                self.queue.get_nowait()
                self.dropped += 1
                lost = True


class EventHub:
    """Publish/subscribe of event bodies by account and handler, within this process.

    Call ``publish`` and ``subscribe`` from the event loop's thread (asyncio queues are not
    thread-safe).
    """

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.queue_size = queue_size
        self.dropped = 0  # messages dropped over all subscribers, for monitoring
        self._subscribers: dict[str, set[Subscription]] = {}

    def subscribe(self, account_id: str, handler_id: str | None = None) -> Subscription:
        """A new subscription to the events of ``account_id`` (of ``handler_id`` only if given)."""
        subscription = Subscription(account_id, handler_id, asyncio.Queue(self.queue_size))
        self._subscribers.setdefault(account_id, set()).add(subscription)
        self._count_subscribers()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to ``subscription`` (no error if it was already removed)."""
        subscribers = self._subscribers.get(subscription.account_id)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._subscribers[subscription.account_id]
        self._count_subscribers()

    def _count_subscribers(self) -> None:
        metrics.WEBSOCKET_SUBSCRIBERS.set(sum(len(s) for s in self._subscribers.values()))

    @contextmanager
    def subscription(
        self, account_id: str, handler_id: str | None = None
    ) -> Iterator[Subscription]:
        """A subscription for the duration of a ``with`` block."""
        subscription = self.subscribe(account_id, handler_id)
        try:
            yield subscription
        finally:
            self.unsubscribe(subscription)

    def subscribers(self, account_id: str) -> int:
        """How many subscriptions ``account_id`` has now."""
        return len(self._subscribers.get(account_id, ()))

    def publish(self, account_id: str, handler_id: str | None, body: dict[str, Any]) -> int:
        """Deliver an event body to the account's subscribers that want its handler; returns
        to how many. Never blocks."""
        delivered = 0
        for subscription in list(self._subscribers.get(account_id, ())):
            if not subscription.wants(handler_id):
                continue
            if not subscription.offer(body):
                self.dropped += 1
                # Logged at the 1st, 2nd, 4th, 8th... drop: visible, without a line per event.
                if subscription.dropped & (subscription.dropped - 1) == 0:
                    log.warning(
                        "notification subscriber of account %s is slow: dropped its oldest "
                        "event (%d dropped so far)",
                        account_id,
                        subscription.dropped,
                    )
            delivered += 1
        return delivered
