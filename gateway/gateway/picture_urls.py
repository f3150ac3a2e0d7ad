"""Picture URLs as capabilities for one viewer (``UrlSigner``):
``/pictures/<kind>/<subject>/<picture>/<size>-<name>.<ext>``
(immutable: ``name`` is ``UrlSigner.content_name``, an HMAC of the bytes' digest keyed per
picture, never the plain digest, which would let anyone holding a photo recognise it) with
``v`` (the viewer, sealed; ``-`` for none), ``e`` (expiry) and ``s`` (an HMAC of all of it
under ``GATEWAY_PICTURE_URL_KEY``). The schema's ``pictures`` module makes them and serves them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import urlencode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

URL_WINDOW = 12 * 3600  # seconds a URL stays the same; it is valid for one to two windows


class UrlSigner:
    """Signs and checks picture URLs. ``key``: ``GATEWAY_PICTURE_URL_KEY`` (the same on every
    gateway of a deployment); a random one per process when unset (URLs then work only on the
    gateway that made them). ``base``: the public origin URLs start with (``GATEWAY_PUBLIC_URL``),
    else the request's own.

    The viewer travels sealed (AES-SIV: deterministic, so a viewer's URL stays the same and is
    cached; authenticated): a URL passed on does not say whose it was."""

    def __init__(self, key: bytes | None = None, base: str | None = None) -> None:
        self.key = key or secrets.token_bytes(32)
        self.base = base.rstrip("/") if base else None
        self._seal = AESSIV(hashlib.sha512(b"picture-url-viewer:" + self.key).digest())

    def _sealed(self, viewer: str | None) -> str:
        if viewer is None:
            return "-"
        return base64.urlsafe_b64encode(self._seal.encrypt(viewer.encode(), [b"viewer"])).decode().rstrip("=")

    def _opened(self, sealed: str) -> str | None:
        """The viewer in ``sealed`` ("" for a URL made for nobody); None when it was altered."""
        if sealed == "-":
            return ""
        try:
            raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
            return self._seal.decrypt(raw, [b"viewer"]).decode()
        except (ValueError, InvalidTag, UnicodeDecodeError):
            return None

    def content_name(self, picture_id: str, sha256: str) -> str:
        """The name of a variant's bytes in its URL and ETag: an HMAC of their digest under a key
        of this picture's own (from ``key`` and ``picture_id``). Fixed for the stored bytes (URLs
        stay immutable), yet the same photo added twice gets unrelated names: nobody holding a
        photo can compute its name, or recognise it among someone's pictures."""
        picture_key = hmac.digest(self.key, b"picture-content:" + picture_id.encode(), hashlib.sha256)
        return hmac.new(picture_key, sha256.encode(), hashlib.sha256).hexdigest()

    def _mac(self, path: str, viewer: str, expires: int) -> str:
        message = f"{path}|{viewer}|{expires}".encode()
        return base64.urlsafe_b64encode(hmac.digest(self.key, message, hashlib.sha256)[:18]).decode()

    def url(self, path: str, viewer: str | None, base: str, now: float | None = None) -> str:
        """The URL of ``path`` (``/pictures/...``) for ``viewer``, valid until the end of the next window."""
        expires = (int(now or time.time()) // URL_WINDOW + 2) * URL_WINDOW
        who = self._sealed(viewer)
        query = urlencode({"v": who, "e": expires, "s": self._mac(path, who, expires)})
        return f"{self.base or base.rstrip('/')}{path}?{query}"

    def check(self, path: str, sealed: str, expires: str, mac: str) -> tuple[int, str | None] | None:
        """(seconds the URL has left, the viewer it was made for or None for nobody), or None
        when it is forged, altered or expired."""
        if not expires.isdigit() or not hmac.compare_digest(self._mac(path, sealed, int(expires)), mac):
            return None
        left = int(expires) - int(time.time())
        viewer = self._opened(sealed)
        if left <= 0 or viewer is None:
            return None
        return left, viewer or None
