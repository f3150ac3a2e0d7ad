"""The ``Identity`` DependencyProvider: a service's view of who a request is for
(``parentnet_kit.identity``). Import it in services only (it pulls in nameko)."""

from __future__ import annotations

import logging
from typing import Any

from nameko.extensions import DependencyProvider

from .identity import HEADER, IdentityVerifier, Viewer
from .tokens import load_pem

log = logging.getLogger(__name__)


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class Identity(DependencyProvider):
    """Gives each worker the request's ``Viewer``: the token of its ``x-parentnet-identity``
    header verified for this service (the service's name is the audience).

    Config: ``INTERNAL_IDENTITY_PUBLIC_KEY`` or ``_FILE`` (PEM), ``INTERNAL_IDENTITY_REQUIRED``.
    Without a key nothing can be verified: tokens are ignored (a warning at start-up), and
    requiring them is a start-up error."""

    def setup(self) -> None:
        config = self.container.config
        inline = str(config.get("INTERNAL_IDENTITY_PUBLIC_KEY") or "")
        path = str(config.get("INTERNAL_IDENTITY_PUBLIC_KEY_FILE") or "")
        self.required = _truthy(config.get("INTERNAL_IDENTITY_REQUIRED", ""))
        self.verifier: IdentityVerifier | None = None
        if inline.strip() or path.strip():
            self.verifier = IdentityVerifier(load_pem(inline, path, "internal identity public key"))
        elif self.required:
            raise RuntimeError("INTERNAL_IDENTITY_REQUIRED is on but no INTERNAL_IDENTITY_PUBLIC_KEY(_FILE) is set")
        else:
            log.warning("no INTERNAL_IDENTITY_PUBLIC_KEY(_FILE): callers' identity tokens are not checked")
        self.audience = self.container.service_name

    def get_dependency(self, worker_ctx: Any) -> Viewer:
        token = worker_ctx.data.get(HEADER)
        if token is None or self.verifier is None:
            return Viewer(None, token is not None, None, self.required)
        verifier, audience = self.verifier, self.audience
        return Viewer(None, True, None, self.required, verify=lambda: verifier.verify(token, audience))
