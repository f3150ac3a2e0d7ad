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

Reads about a member that another service makes while it serves her request (events asking
members for her groups and blocks) carry her token on (nameko passes a worker's context data to
the calls it makes), signed for the service she called, not for members. ``Viewer.reading_about``
accepts such a relayed token: genuine, unexpired, from the gateway, for any audience. It says
whether the request is hers (``SELF``), another member's (``OTHER``: a service answers only what
that member may see) or, without a token while none is required, a previous gateway's
(``TRUSTED``); a missing token when one is required, or one that does not verify, is ``Forbidden``.

Configuration (one key pair per deployment, docs/operations.md):
- gateway: ``INTERNAL_IDENTITY_PRIVATE_KEY`` or ``INTERNAL_IDENTITY_PRIVATE_KEY_FILE`` (PEM);
- services: ``INTERNAL_IDENTITY_PUBLIC_KEY`` or ``INTERNAL_IDENTITY_PUBLIC_KEY_FILE`` (PEM), and
  ``INTERNAL_IDENTITY_REQUIRED`` ("true" once every gateway sends tokens); while a key is being
  rotated, ``INTERNAL_IDENTITY_PREVIOUS_PUBLIC_KEY`` or ``_FILE``: a token verifies with either
  key, the one its ``kid`` header names.

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


def key_id(public_key: Ed25519PublicKey) -> str:
    """The ``kid`` a signer puts in its tokens' header for this key (its PEM's hash, 16 hex)."""
    return _key_id(public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


class IdentityVerifier:
    """Checks identity tokens (a service), with the current public key and, during a rotation,
    the previous one: the token's ``kid`` header picks the key (a token without one is tried
    with each; an unknown ``kid`` is refused)."""

    def __init__(self, public_pem: bytes, *previous_pems: bytes) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {}
        for pem in (public_pem, *previous_pems):
            key = serialization.load_pem_public_key(pem)
            if not isinstance(key, Ed25519PublicKey):
                raise RuntimeError("the internal identity public key must be an Ed25519 key")
            self._keys[key_id(key)] = key

    def _candidates(self, token: str) -> list[Ed25519PublicKey]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise InvalidIdentity(str(exc)) from exc
        if kid is None:
            return list(self._keys.values())
        if kid not in self._keys:
            raise InvalidIdentity("signed with a key this service does not know (kid)")
        return [self._keys[kid]]

    def verify(self, token: Any, service: str | None) -> str:
        """The member id ``token`` names, if it is genuine, unexpired and for ``service`` (for
        any service when ``service`` is None: a token relayed by the service it was signed for).
        Raises ``InvalidIdentity`` otherwise."""
        if not isinstance(token, str) or not token:
            raise InvalidIdentity("no token")
        problem = "no key"
        for key in self._candidates(token):
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[ALGORITHM],
                    audience=service,
                    issuer=ISSUER,
                    leeway=LEEWAY,
                    options={"require": ["exp", "iat", "iss", "aud", "sub"], "verify_aud": service is not None},
                )
            except jwt.InvalidSignatureError as exc:
                problem = str(exc)
                continue
            except jwt.PyJWTError as exc:
                raise InvalidIdentity(str(exc)) from exc
            if not isinstance(claims["sub"], str) or not claims["sub"]:
                raise InvalidIdentity("sub must be a member id")
            return claims["sub"]
        raise InvalidIdentity(problem)


SELF, OTHER, TRUSTED = "self", "other", "trusted"
# An operator's tool, not a member: the token's ``sub`` is ``operator:<purpose>`` (a member id is
# never that: members makes them). Signed with the same deployment key, by whoever runs the tool
# with ``INTERNAL_IDENTITY_PRIVATE_KEY[_FILE]`` (docs/operations.md).
OPERATOR_PREFIX = "operator:"
BACKFILL = "search-backfill"  # python -m search.backfill: the services' export_* RPCs
MODERATION_ROLES = "moderation-roles"  # python -m moderation.roles: members.member_id_by_email


def operator_subject(purpose: str) -> str:
    """The ``sub`` of an operator tool's token for ``purpose`` (e.g. ``BACKFILL``)."""
    return f"{OPERATOR_PREFIX}{purpose}"


class Viewer:
    """One request's identity, as a worker sees it.

    ``id``: the verified member id, or None (no token, or one that did not verify).
    ``presented``: a token came with the request. ``problem``: why it did not verify.
    With ``verify`` (token -> member id, raising ``InvalidIdentity``), the token is checked on
    first use only: a read that never asks costs nothing (a check is ~0.1-0.4 ms).
    ``relayed`` verifies the same token for any audience (``reading_about``)."""

    def __init__(
        self,
        member_id: str | None,
        presented: bool,
        problem: str | None,
        required: bool,
        verify: Callable[[], str] | None = None,
        relayed: Callable[[], str] | None = None,
    ) -> None:
        self._id = member_id
        self.presented = presented
        self._problem = problem
        self.required = required
        self._verify = verify
        self._relayed = relayed

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

    def operating(self, purpose: str) -> None:
        """Allow a request only from the operator tool for ``purpose`` (its token's ``sub`` is
        ``operator_subject(purpose)``), or with no token while none is required (a previous
        release's tool). Raises ``Forbidden`` otherwise: a member's token, another tool's, a bad
        one, or none while one is required."""
        if self.problem is not None:
            raise Forbidden(f"the identity token was refused: {self.problem}")
        if self.id is None:
            if self.required:
                raise Forbidden("no identity token came with this request")
            return
        if self.id != operator_subject(purpose):
            raise Forbidden(f"only the {purpose} operator tool may call this")

    def viewer_or(self, claimed: Any) -> Any:
        """Whom a read is for: the verified member when there is one (whatever ``claimed`` says),
        else ``claimed`` (a previous gateway's argument) unless a token is required or refused."""
        if self.problem is not None or (self.id is None and self.required):
            return None
        return self.id if self.id is not None else claimed

    def reading_about(self, member_id: Any) -> str:
        """Whose request a read about ``member_id`` is: ``SELF`` (a genuine token names her, signed
        for this service or for the one relaying her request), ``OTHER`` (it names another member:
        answer only what they may see of her), ``TRUSTED`` (no token while none is required: a
        previous gateway's read, answered as before). Raises ``Forbidden`` for no token while one
        is required, or a token that does not verify for any service."""
        if self.id is not None:
            return SELF if member_id == self.id else OTHER
        if not self.presented:
            if self.required:
                raise Forbidden("no identity token came with this request")
            return TRUSTED
        if self._relayed is None:  # a token came, and this service has no key to check it
            if self.required:
                raise Forbidden(f"the identity token was refused: {self.problem or 'no key to verify it'}")
            return TRUSTED
        try:
            relayed_for = self._relayed()
        except InvalidIdentity as exc:
            raise Forbidden(f"the identity token was refused: {exc}") from exc
        return SELF if member_id == relayed_for else OTHER
