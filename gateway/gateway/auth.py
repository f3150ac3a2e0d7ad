"""Who is asking: a bearer access token becomes the viewer; the client address is kept for throttling.

The token's signature, algorithm, expiry, issuer and audience are checked here with the
members service's public key, with no call. Whether its session was revoked (logout) is
asked of the members service and remembered for a few seconds, so an authenticated
request costs at most one extra RPC per session every ``revocation_ttl`` seconds.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import jwt
from starlette.requests import HTTPConnection, Request

from parentnet_kit.contract.rpc import MembersClient
from parentnet_kit.tokens import InvalidToken, TokenVerifier

from .rpc import RpcClient

log = logging.getLogger(__name__)


class BadToken(Exception):
    """A token was sent but cannot be used: the client should refresh or sign in again."""


@dataclass(frozen=True)
class Viewer:
    member_id: str
    session_id: str


class Authenticator:
    def __init__(
        self, verifier: TokenVerifier | None, rpc: RpcClient, revocation_ttl: float, cache_size: int = 10_000
    ) -> None:
        self.verifier = verifier
        self.rpc = rpc
        self.revocation_ttl = revocation_ttl
        self.cache_size = cache_size
        self._active: dict[str, tuple[float, bool]] = {}

    async def viewer(self, request: Request) -> Viewer | None:
        return await self.from_header(request.headers.get("authorization"))

    async def from_header(self, header: str | None) -> Viewer | None:
        """The viewer an ``Authorization`` value names; None without one; BadToken for a bad one."""
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise BadToken("Send the access token as: Authorization: Bearer <token>.")
        if self.verifier is None:
            raise BadToken("Sign-in is not configured on this gateway.")
        try:
            claims = self.verifier.verify(token.strip())
        except InvalidToken as exc:
            # The library's reason ("Signature has expired", "'utf-8' codec can't decode byte
            # ...") is for our logs, not for the app: it says expired, or not valid.
            log.info("refused an access token: %s", exc)
            if isinstance(exc.__cause__, jwt.ExpiredSignatureError):
                raise BadToken("The access token has expired; refresh it or sign in again.") from exc
            raise BadToken("The access token is not valid; sign in again.") from exc
        if not await self.session_active(claims.session_id):
            raise BadToken("This session has ended; sign in again.")
        return Viewer(claims.member_id, claims.session_id)

    async def session_active(self, session_id: str) -> bool:
        now = time.monotonic()
        cached = self._active.get(session_id)
        if cached and cached[0] > now:
            return cached[1]
        active = bool(await MembersClient(self.rpc).session_active(session_id=session_id))
        if len(self._active) >= self.cache_size:
            self._active = {k: v for k, v in self._active.items() if v[0] > now}
            if len(self._active) >= self.cache_size:
                self._active.clear()
        self._active[session_id] = (now + self.revocation_ttl, active)
        return active

    def forget(self, session_id: str) -> None:
        """Called after a logout through this gateway, so it takes effect here at once."""
        self._active.pop(session_id, None)


def client_address(request: HTTPConnection, trust_forwarded: bool) -> str:
    """The caller's address. Behind a trusted proxy (``GATEWAY_TRUST_FORWARDED``, one proxy in
    front of the gateway), the *last* X-Forwarded-For entry: the one that proxy appended. The
    entries before it are whatever the client sent, so taking the first would let any client
    choose its address and walk around every per-address limit."""
    if trust_forwarded:
        entries = [e.strip() for h in request.headers.getlist("x-forwarded-for") for e in h.split(",")]
        if entries and entries[-1]:
            return entries[-1]
    return request.client.host if request.client else "unknown"
