"""The open cities as this gateway process knows them: a cached ``members.open_cities`` RPC.

The gateway owns no data. It asks the members service (the cities' owner) once, keeps the
answer, and asks again when its event feed hears ``members.city_opened`` (a city opened or
changed: within the feed's delivery, well under a second) or after ``MAX_AGE_SECONDS`` (a
feed that missed an event while reconnecting heals by itself). Per-process state: with two
gateways, each keeps its own copy and each hears the event on its own feed queue.

Loads go through the process's own RPC client, not a request's counting one, so a request
never pays for a refresh in its ``extensions.rpcCalls``. While members cannot answer, the last
answer is used; a gateway that never had one sees no city.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from parentnet_kit.cities import City
from parentnet_kit.contract.rpc import MembersClient

log = logging.getLogger(__name__)
MAX_AGE_SECONDS = 60.0


class OpenCities:
    def __init__(self) -> None:
        self._rpc: Any = None
        self._cities: dict[str, City] = {}
        self._loaded_at: float | None = None
        self._loading: asyncio.Future[None] | None = None
        self._generation = 0  # bumped by every change heard; a load started before one is stale

    def bind(self, rpc: Any) -> None:
        """Use this RPC client (the app's); forgets what another client loaded."""
        self._rpc = rpc
        self._cities, self._loaded_at, self._loading = {}, None, None

    def changed(self) -> None:
        """A city was opened or changed: the next read asks members again."""
        self._loaded_at = None
        self._generation += 1

    async def all(self) -> dict[str, City]:
        """Slug -> open city; at most one RPC in flight however many requests ask at once."""
        fresh = self._loaded_at is not None and time.monotonic() - self._loaded_at < MAX_AGE_SECONDS
        if fresh or self._rpc is None:
            return self._cities
        if self._loading is None or self._loading.done():
            self._loading = asyncio.ensure_future(self._load())
        try:
            await asyncio.shield(self._loading)
        except Exception as exc:  # noqa: BLE001 - the last answer serves while members is away
            log.warning("open cities: members did not answer (%r); using the last answer", exc)
        return self._cities

    async def get(self, slug: str | None) -> City | None:
        """The open city with this slug; a slug this process does not know makes it ask again
        (at most once a second), in case the city was opened and the feed has not said so yet."""
        found = (await self.all()).get(slug or "")
        if found is None and slug and self._loaded_at is not None and time.monotonic() - self._loaded_at > 1.0:
            self.changed()
            found = (await self.all()).get(slug)
        return found

    async def _load(self) -> None:
        started, generation = time.monotonic(), self._generation
        answer = await MembersClient(self._rpc).open_cities()
        self._cities = {raw["slug"]: City.from_dict(raw) for raw in answer}
        if generation == self._generation:
            self._loaded_at = started


DIRECTORY = OpenCities()
