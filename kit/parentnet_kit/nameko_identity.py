"""The ``Identity`` DependencyProvider: a service's view of who a request is for
(``parentnet_kit.identity``). Import it in services only (it pulls in nameko)."""

from __future__ import annotations

import logging
from typing import Any

from nameko.extensions import DependencyProvider

from .identity import HEADER, IdentityVerifier, Viewer
from .tokens import load_pem

log = logging.getLogger(__name__)


TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off")


def required_setting(config: Any) -> bool:
    """``INTERNAL_IDENTITY_REQUIRED`` as a switch: true/false/1/0/yes/no/on/off (any case, spaces
    around ignored) or a YAML boolean; absent from the config: False (a test's container; every
    config.yml sets it, default true). Raises ``RuntimeError`` naming the variable and the accepted
    values for anything else, an empty value included (nameko reads ``VAR=`` as null): a setting
    nobody can read must not turn the check off."""
    if "INTERNAL_IDENTITY_REQUIRED" not in config:
        return False
    value = config["INTERNAL_IDENTITY_REQUIRED"]
    if isinstance(value, bool):
        return value
    word = "" if value is None else str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise RuntimeError(
        f"INTERNAL_IDENTITY_REQUIRED={value!r} is not a setting: use one of "
        "true/false/1/0/yes/no/on/off (unset it for the default, true in config.yml)"
    )


class Identity(DependencyProvider):
    """Gives each worker the request's ``Viewer``: the token of its ``x-parentnet-identity``
    header verified for this service (the service's name is the audience).

    Config: ``INTERNAL_IDENTITY_PUBLIC_KEY`` or ``_FILE`` (PEM), ``INTERNAL_IDENTITY_REQUIRED``
    (``required_setting``: an unreadable value is a start-up error), and during a key rotation
    ``INTERNAL_IDENTITY_PREVIOUS_PUBLIC_KEY`` or ``_FILE`` (tokens verify with either key).
    Without a key nothing can be verified: tokens are ignored (a warning at start-up), and
    requiring them is a start-up error."""

    def setup(self) -> None:
        config = self.container.config
        inline = str(config.get("INTERNAL_IDENTITY_PUBLIC_KEY") or "")
        path = str(config.get("INTERNAL_IDENTITY_PUBLIC_KEY_FILE") or "")
        previous_inline = str(config.get("INTERNAL_IDENTITY_PREVIOUS_PUBLIC_KEY") or "")
        previous_path = str(config.get("INTERNAL_IDENTITY_PREVIOUS_PUBLIC_KEY_FILE") or "")
        self.required = required_setting(config)
        self.verifier: IdentityVerifier | None = None
        if inline.strip() or path.strip():
            previous = []
            if previous_inline.strip() or previous_path.strip():
                previous.append(load_pem(previous_inline, previous_path, "previous internal identity public key"))
            self.verifier = IdentityVerifier(load_pem(inline, path, "internal identity public key"), *previous)
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
        return Viewer(
            None,
            True,
            None,
            self.required,
            verify=lambda: verifier.verify(token, audience),
            relayed=lambda: verifier.verify(token, None),
        )
