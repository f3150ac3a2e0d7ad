"""Who a request is for, as a service can check it: a short-lived internal identity token.

The gateway has verified the member's access token; it then tells each service who the viewer
is in a token of its own, signed with the deployment's internal identity key (Ed25519, as
``tokens`` signs members' access tokens, with PyJWT): ``sub`` the member id, ``aud`` the service
it is for, ``iss`` "parentnet-gateway", ``exp`` a minute after ``iat``. It travels in the RPC's
``x-parentnet-identity`` header, which nameko hands the worker as context data. Only whoever
holds the private key (the gateway) can make one; every service verifies with the public key.

A service reads it through the ``Identity`` DependencyProvider: ``self.identity.acting_as(actor_id)``
returns ``actor_id`` when the request may act as that member, and raises ``Forbidden`` when:
- a token came and does not verify (forged, expired, for another service, another key);
- a verified token names someone else than ``actor_id``;
- no token came and the service requires one (``INTERNAL_IDENTITY_REQUIRED``).

Without a token, and not required, the actor argument is taken as before: that is how a gateway
of the previous release (which sends none) keeps working during a rolling deploy. Roles never
come from the caller in either case: a service decides them from the owner's data.

Configuration (one key pair per deployment, docs/operations.md):
- gateway: ``INTERNAL_IDENTITY_PRIVATE_KEY`` or ``INTERNAL_IDENTITY_PRIVATE_KEY_FILE`` (PEM);
- services: ``INTERNAL_IDENTITY_PUBLIC_KEY`` or ``INTERNAL_IDENTITY_PUBLIC_KEY_FILE`` (PEM), and
  ``INTERNAL_IDENTITY_REQUIRED`` ("true" once every gateway sends tokens).

No nameko here (the gateway imports the signer): services take ``nameko_identity.Identity``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .tokens import _key_id, generate_key_pair, load_pem

HEADER = "x-parentnet-identity"
ALGORITHM = "EdDSA"
ISSUER = "parentnet-gateway"
TTL = timedelta(minutes=1)
# A token is reused for calls to the same service while it has at least this long to live.
REUSE_MARGIN = timedelta(seconds=30)
LEEWAY = timedelta(seconds=5)


class InvalidIdentity(ValueError):
    """The identity token is malformed, forged, expired or meant for another service."""


class Forbidden(Exception):
    """This request may not act as the member it names. nameko sends it to the caller as a
    remote error of type ``Forbidden``; the gateway reports it as an authorization error."""


def write_dev_key_pair(directory: Path) -> tuple[Path, Path]:
    """Create ``identity-private.pem`` (0600) and ``identity-public.pem`` in ``directory`` once,
    for development and tests; returns their paths (private, public)."""
    import os

    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / "identity-private.pem", directory / "identity-public.pem"
    if not (private_path.exists() and public_path.exists()):
        private_pem, public_pem = generate_key_pair()
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_pem)
        public_path.write_bytes(public_pem)
    return private_path, public_path


class IdentitySigner:
    """Makes identity tokens (the gateway). ``token(member_id, service)`` is thread-safe and
    reuses a token for the same member and service while it has ``REUSE_MARGIN`` left, so a page
    that makes ten calls signs once (an Ed25519 signature costs ~50 µs with PyJWT)."""

    def __init__(self, private_pem: bytes) -> None:
        key = serialization.load_pem_private_key(private_pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise RuntimeError("the internal identity private key must be an Ed25519 key")
        self._key = key
        self._kid = _key_id(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        self._cache: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, inline: str | None, path: str | None) -> IdentitySigner | None:
        """The signer for ``INTERNAL_IDENTITY_PRIVATE_KEY``/``_FILE``; None when neither is set."""
        if not ((inline and inline.strip()) or (path and path.strip())):
            return None
        return cls(load_pem(inline, path, "internal identity private key"))

    def token(self, member_id: str, service: str, now: float | None = None) -> str:
        """A token saying the request is for ``member_id``, for ``service`` only; valid ``TTL``."""
        now = time.time() if now is None else now
        key = (member_id, service)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] - now >= REUSE_MARGIN.total_seconds():
                return cached[1]
        expires = int(now + TTL.total_seconds())
        claims = {"iss": ISSUER, "aud": service, "sub": member_id, "iat": int(now), "exp": expires}
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self._kid})
        with self._lock:
            if len(self._cache) > 10_000:  # members come and go: forget them all now and then
                self._cache.clear()
            self._cache[key] = (float(expires), token)
        return token


class IdentityVerifier:
    """Checks identity tokens (a service)."""

    def __init__(self, public_pem: bytes) -> None:
        key = serialization.load_pem_public_key(public_pem)
        if not isinstance(key, Ed25519PublicKey):
            raise RuntimeError("the internal identity public key must be an Ed25519 key")
        self._key = key

    def verify(self, token: Any, service: str) -> str:
        """The member id ``token`` names, if it is genuine, unexpired and for ``service``.
        Raises ``InvalidIdentity`` otherwise."""
        if not isinstance(token, str) or not token:
            raise InvalidIdentity("no token")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=service,
                issuer=ISSUER,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidIdentity(str(exc)) from exc
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise InvalidIdentity("sub must be a member id")
        return claims["sub"]


class Viewer:
    """One request's identity, as a worker sees it.

    ``id``: the verified member id, or None (no token, or one that did not verify).
    ``presented``: a token came with the request. ``problem``: why it did not verify.
    With ``verify`` (token -> member id, raising ``InvalidIdentity``), the token is checked on
    first use only: a read that never asks costs nothing (a check is ~0.1-0.4 ms)."""

    def __init__(
        self,
        member_id: str | None,
        presented: bool,
        problem: str | None,
        required: bool,
        verify: Callable[[], str] | None = None,
    ) -> None:
        self._id = member_id
        self.presented = presented
        self._problem = problem
        self.required = required
        self._verify = verify

    def _check(self) -> None:
        if self._verify is not None:
            verify, self._verify = self._verify, None
            try:
                self._id = verify()
            except InvalidIdentity as exc:
                self._problem = str(exc)

    @property
    def id(self) -> str | None:
        self._check()
        return self._id

    @property
    def problem(self) -> str | None:
        self._check()
        return self._problem

    def acting_as(self, actor_id: Any) -> Any:
        """``actor_id`` when this request may act as that member; raises ``Forbidden`` otherwise
        (see the module's docstring for when)."""
        if self.problem is not None:
            raise Forbidden(f"the identity token was refused: {self.problem}")
        if self.id is None:
            if self.required:
                raise Forbidden("no identity token came with this request")
            return actor_id
        if actor_id != self.id:
            raise Forbidden("the identity token names another member than the one acting")
        return actor_id

    def viewer_or(self, claimed: Any) -> Any:
        """Whom a read is for: the verified member when there is one (whatever ``claimed`` says),
        else ``claimed`` (a previous gateway's argument) unless a token is required or refused."""
        if self.problem is not None or (self.id is None and self.required):
            return None
        return self.id if self.id is not None else claimed
