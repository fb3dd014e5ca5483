"""Watch fan-out: every committed event, in revision order, to the queue of each watcher of its resource."""
from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field

from shim.storage.model import Event


@dataclass(eq=False)
class Subscription:
    """A watcher's queue of events for one resource (optionally one namespace); None ends it."""

    resource: str
    namespace: str
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)
    #: the watcher fell `max_queue` events behind and was cut off (it must list again)
    overflowed: bool = False


class Fanout:
    """The open subscriptions by resource. Runs on the event loop only."""

    def __init__(self, max_queue: int) -> None:
        self.max_queue = max_queue
        self._subs: dict[str, set[Subscription]] = collections.defaultdict(set)

    def subscribe(self, resource: str, namespace: str) -> Subscription:
        sub = Subscription(resource, namespace)
        self._subs[resource].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.get(sub.resource, set()).discard(sub)

    def publish(self, event: Event) -> None:
        """Queue `event` for its watchers; one that fell too far behind is closed instead of growing."""
        subs = self._subs.get(event.resource)
        if not subs:
            return
        for sub in list(subs):
            if sub.namespace and sub.namespace != event.namespace:
                continue
            if sub.queue.qsize() >= self.max_queue:
                sub.overflowed = True
                subs.discard(sub)
                sub.queue.put_nowait(None)
                continue
            sub.queue.put_nowait(event)
