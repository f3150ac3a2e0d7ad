"""What each GraphQL request's resolvers share: the RPC client, the viewer, loaders."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from parentnet_kit import i18n
from parentnet_kit.contract.rpc import (
    ConversationsClient,
    EventsClient,
    ListingsClient,
    MembersClient,
    PicturesApi,
    RpcTransport,
    SearchClient,
)
from parentnet_kit.contracts import IDEMPOTENCY_HEADER

from .loaders import DataLoader
from .rpc import CountingRpc

# Each kind of subject with pictures, and the service that owns it.
PICTURE_OWNERS = (("outing", "events"), ("listing", "listings"), ("group", "members"), ("member", "members"))


class Loaders:
    """Per-request DataLoaders, so a page costs one RPC per kind of object, not one per row."""

    def __init__(self, rpc: RpcTransport, viewer_id: str | None) -> None:
        events, members, listings = EventsClient(rpc), MembersClient(rpc), ListingsClient(rpc)
        self.outing = DataLoader(lambda keys: events.get_outings(outing_ids=keys))
        self.member = DataLoader(lambda keys: members.get_members(member_ids=keys, viewer_id=viewer_id))
        self.group = DataLoader(lambda keys: members.get_groups(group_ids=keys, viewer_id=viewer_id))
        self.listing = DataLoader(lambda keys: listings.get_listings(listing_ids=keys, viewer_id=viewer_id))
        # The viewer's place in each outing on the page: one call for the page (for a viewer only).
        self.place = DataLoader(lambda keys: events.places_of(member_id=viewer_id or "", outing_ids=keys))
        # Pictures of each kind of subject, from the service that owns it (pictures.SUBJECTS).
        self.pictures = {kind: self._pictures_of(picture_owner(rpc, service), kind) for kind, service in PICTURE_OWNERS}

    @staticmethod
    def _pictures_of(owner: PicturesApi, kind: str) -> DataLoader:
        return DataLoader(lambda keys: owner.pictures_of(kind=kind, subject_ids=keys))


def picture_owner(rpc: RpcTransport, service: str) -> PicturesApi:
    """The client of ``service`` (one of ``PICTURE_OWNERS``' services) for its picture methods."""
    owners: dict[str, type[PicturesApi]] = {
        "events": EventsClient,
        "listings": ListingsClient,
        "members": MembersClient,
    }
    return owners[service](rpc)


@dataclass
class Context:
    request: Request | None
    rpc: RpcTransport
    viewer_id: str | None = None
    session_id: str | None = None
    client: str = "unknown"
    authenticator: Any = None
    loaders: Loaders = field(init=False)
    # Each service's typed client (parentnet_kit.contract.rpc) over ``rpc``.
    events: EventsClient = field(init=False)
    members: MembersClient = field(init=False)
    conversations: ConversationsClient = field(init=False)
    listings: ListingsClient = field(init=False)
    search: SearchClient = field(init=False)
    feed: Any = None
    # A subscription's: set once its source stream listens to the feed (ws.py waits for it
    # before it reads the connection's next message, so a pong after a subscribe means "listening").
    listening: asyncio.Event | None = None
    # For a long-lived context (a subscription): how often to re-read blocks and groups.
    refresh_viewer_after: float | None = None
    # The request's Idempotency-Key header, if the client sent one.
    idempotency_key: str | None = None
    # The caller's Accept-Language: the request's header, or over a websocket the one its
    # connection_init payload or handshake sent (ws.py). None: read it from ``request``.
    accept_language: str | None = None
    _profile_languages: asyncio.Future[list[str]] | None = field(default=None, init=False)
    _viewer: asyncio.Future[dict[str, Any]] | None = field(default=None, init=False)
    _viewer_at: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        # Every call of this request is made for its viewer (an identity token the service checks).
        if not isinstance(self.rpc, CountingRpc):
            self.rpc = CountingRpc(self.rpc)  # type: ignore[assignment, arg-type]
        self.rpc.viewer_id = self.viewer_id
        self.loaders = Loaders(self.rpc, self.viewer_id)
        self.events = EventsClient(self.rpc)
        self.members = MembersClient(self.rpc)
        self.conversations = ConversationsClient(self.rpc)
        self.listings = ListingsClient(self.rpc)
        self.search = SearchClient(self.rpc)
        if self.accept_language is None and self.request is not None:
            self.accept_language = self.request.headers.get("accept-language")

    def listen(self, event_type: str, accept: Any = None) -> AsyncIterator[dict[str, Any]]:
        """The feed's events of ``event_type`` that ``accept`` (an event → bool) lets through,
        from the moment the iteration starts (``EventFeed.listen``); ``listening`` is set then.
        Before each event this context forgets what it read (``renew``): a subscription lives
        for hours, and each event it pushes is resolved as a new request would be."""
        return self._renewing(self.feed.listen(event_type, accept or (lambda _: True), started=self.listening))

    async def _renewing(self, events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        try:
            async for event in events:
                self.renew()
                yield event
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    def renew(self) -> None:
        """Forget what this context read: the loaders' cached views (a profile, the viewer's
        place), the viewer's blocks and groups and profile languages. Over HTTP a context lasts
        one request; a websocket subscription's lasts as long as it does, and without this a
        block, a promotion or a rename made meanwhile would not show in what it pushes."""
        self.loaders = Loaders(self.rpc, self.viewer_id)
        self._viewer = None
        self._profile_languages = None

    def accepted_languages(self) -> list[str]:
        """The caller's Accept-Language tags, most preferred first."""
        return i18n.accept_language(self.accept_language)

    async def profile_languages(self) -> list[str]:
        """The signed-in viewer's profile ``languages`` (none when signed out or unknown); one
        member lookup per request, shared with the page's own (the member loader)."""
        if self.viewer_id is None:
            return []
        if self._profile_languages is None:

            async def read() -> list[str]:
                member = await self.loaders.member.load(self.viewer_id)
                return list((member or {}).get("languages") or [])

            self._profile_languages = asyncio.ensure_future(read())
        return await self._profile_languages

    def caller_language(self) -> str:
        """The language to answer the caller in (userErrors, argument errors): their
        Accept-Language, else English. Not the profile's: these sentences show in the app beside
        its own text, which is in the language the app asks for (and it costs no lookup)."""
        return i18n.negotiate(self.accepted_languages())

    async def recipient_language(self) -> str:
        """The language to show the viewer's own notifications in: their profile's languages
        first (what they chose to read), then Accept-Language, then English."""
        return i18n.negotiate(await self.profile_languages(), self.accepted_languages())

    def once(self, info: Any) -> dict[str, str] | None:
        """The RPC headers that make a retried creation find what the first try made: the
        client's key for the mutation field ``info`` resolves (one key may cover several aliased
        mutations of one request: each gets its own), for a signed-in client only."""
        if not self.idempotency_key or self.viewer_id is None:
            return None
        return {IDEMPOTENCY_HEADER: f"{self.idempotency_key}:{'.'.join(str(p) for p in info.path.as_list())}"}

    async def viewer_context(self) -> dict[str, Any]:
        """Who blocked the viewer, the viewer's groups (id → role) and whether they are in protected
        mode. One RPC per request at most."""
        if self.viewer_id is None:
            return {"blocked_by": [], "blocked": [], "groups": {}, "protected": False}
        stale = self.refresh_viewer_after is not None and time.monotonic() - self._viewer_at > self.refresh_viewer_after
        if self._viewer is None or (stale and self._viewer.done()):
            self._viewer_at = time.monotonic()
            self._viewer = asyncio.ensure_future(self.members.viewer_context(member_id=self.viewer_id))
        return await self._viewer

    async def blocked_by(self) -> frozenset[str]:
        """Members who blocked the viewer: none of theirs may show."""
        return frozenset((await self.viewer_context())["blocked_by"])

    async def apart(self) -> list[str]:
        """Members the viewer blocked or was blocked by: never matched or shown to each other."""
        context = await self.viewer_context()
        return sorted(set(context["blocked_by"]) | set(context.get("blocked", [])))

    async def protected(self) -> bool:
        """The viewer is in protected mode: what they post is placed and matched at city level."""
        return bool((await self.viewer_context()).get("protected", False))

    async def group_role(self, group_id: str | None) -> str | None:
        if not group_id:
            return None
        return (await self.viewer_context())["groups"].get(group_id)


def context_of(info: Any) -> Context:
    """The request's ``Context`` from a resolver's ``info`` (graphene types its ``context`` as
    ``Any``): calls made through it are checked against the service clients' signatures."""
    return info.context
