"""Access tokens: short-lived JWTs signed by the members service, checked by the gateway.

EdDSA (Ed25519) keys, so only the members service can sign and every gateway instance
verifies with the public key alone. Verification pins the algorithm and requires ``exp``,
``iss``, ``aud`` and ``sub``. Claims carry no personal data: an opaque member id (``sub``),
a session id (``sid``) that logout revokes, and a token id.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "EdDSA"
ISSUER = "parentnet-members"
AUDIENCE = "parentnet-api"
LEEWAY = timedelta(seconds=30)


class InvalidToken(ValueError):
    """The token is malformed, forged, expired or meant for someone else."""


@dataclass(frozen=True)
class AccessClaims:
    member_id: str
    session_id: str
    expires_at: datetime


def generate_key_pair() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as (private PEM, public PEM), for development and tests."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def write_dev_key_pair(directory: Path) -> tuple[Path, Path]:
    """Create ``auth-private.pem`` (mode 0600) and ``auth-public.pem`` in ``directory`` once."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / "auth-private.pem", directory / "auth-public.pem"
    if not (private_path.exists() and public_path.exists()):
        private_pem, public_pem = generate_key_pair()
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_pem)
        public_path.write_bytes(public_pem)
    return private_path, public_path


def _key_id(public_pem: bytes) -> str:
    return hashlib.sha256(public_pem.strip()).hexdigest()[:16]


def load_pem(value: str | None, path: str | None, what: str) -> bytes:
    """A PEM given inline (``value``) or as a file (``path``); a clear error when neither is."""
    if value and value.strip():
        return value.strip().encode()
    if path and path.strip():
        try:
            return Path(path.strip()).read_bytes()
        except OSError as exc:
            raise RuntimeError(f"cannot read the {what} from {path}: {exc}") from exc
    raise RuntimeError(f"no {what} configured: set AUTH_{what.upper().replace(' ', '_')} or its _FILE variant")


class TokenSigner:
    def __init__(self, private_pem: bytes, ttl: timedelta) -> None:
        key = serialization.load_pem_private_key(private_pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise RuntimeError("the auth private key must be an Ed25519 key")
        self._key = key
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._kid = _key_id(public_pem)
        self.ttl = ttl

    def issue(self, member_id: str, session_id: str, now: datetime | None = None) -> tuple[str, datetime]:
        now = now or datetime.now(UTC)
        expires = now + self.ttl
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": member_id,
            "sid": session_id,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self._kid})
        return token, expires.replace(microsecond=0)


class TokenVerifier:
    def __init__(self, public_pem: bytes) -> None:
        key = serialization.load_pem_public_key(public_pem)
        if not isinstance(key, Ed25519PublicKey):
            raise RuntimeError("the auth public key must be an Ed25519 key")
        self._key = key

    def verify(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "sid"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if not isinstance(claims["sub"], str) or not isinstance(claims["sid"], str):
            raise InvalidToken("sub and sid must be strings")
        return AccessClaims(claims["sub"], claims["sid"], datetime.fromtimestamp(claims["exp"], UTC))
