"""The same four RPC methods on every service that owns something with pictures (events:
outings; listings: listings; members: groups and members), over that service's own database.

A service mixes ``PictureEntrypoints`` in (importing this module, not the class: ``nameko run``
takes every class with entrypoints in the service's module for a service), declares
``pictures = Pictures("<ITS_DB>")``, names its ``picture_kinds`` and says who may change a
subject's pictures (``picture_refusal``). The gateway decodes, checks and strips uploads
(``pictures.process``) and sends only the variants; ``picture_store.from_wire`` checks them
again here before anything is written.

Who acts is the request's verified identity when the service has one (``identity``, a
``nameko_identity.Identity``: another member's token, or a refused one, raises ``Forbidden``),
and whether they may is the service's own decision from its data and the owner's (members'
group roles): the ``actor_is_admin`` a previous gateway sends is accepted and never believed
(deprecated; ``picture_refusal`` always receives False for it).
"""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider
from pymongo import MongoClient

from .fields import field_error
from .i18n import t
from .nameko_rpc import once_id, rpc
from .picture_store import PictureStore


class Pictures(DependencyProvider):
    """A ``PictureStore`` on the database named by the config key ``db_key``."""

    def __init__(self, db_key: str) -> None:
        self.db_key = db_key

    def setup(self) -> None:
        config = self.container.config
        self.client: MongoClient = MongoClient(config["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=5000)
        self.store = PictureStore(self.client[config[self.db_key]])

    def stop(self) -> None:
        self.client.close()

    def get_dependency(self, worker_ctx: Any) -> PictureStore:
        return self.store


class PictureEntrypoints:
    """RPC methods for pictures; ``kind`` is one of the service's ``picture_kinds``
    (``"outing"``, ``"listing"``, ``"group"``, ``"member"``) and ``subject_id`` its raw id."""

    picture_kinds: tuple[str, ...] = ()
    pictures: PictureStore
    request_id: str | None

    def picture_refusal(self, kind: str, subject_id: str, actor_id: str, actor_is_admin: bool) -> str | None:
        """Why ``actor_id`` may not add or remove pictures of the subject: ``"NOT_FOUND"`` (no
        such subject), ``"NOT_YOURS"`` (not its owner, nor an admin its service finds), or None
        when they may. ``actor_is_admin`` is always False (kept for existing overrides): roles are
        the service's to decide, never the caller's."""
        raise NotImplementedError

    def _actor(self, actor_id: str) -> str:
        """``actor_id`` as the request's verified identity allows it (``Forbidden`` otherwise); as
        given in a service without an ``identity`` dependency."""
        viewer = getattr(self, "identity", None)
        return viewer.acting_as(actor_id) if viewer is not None and hasattr(viewer, "acting_as") else actor_id

    def _refused(self, kind: str, subject_id: str, actor_id: str) -> list[dict[str, Any]]:
        if kind not in self.picture_kinds:
            return [field_error(("subject_id",), t("{kind} has no pictures here", kind=repr(kind)), "INVALID")]
        code = self.picture_refusal(kind, subject_id, actor_id, False)
        if code == "NOT_FOUND":
            return [field_error(("subject_id",), t("No such {kind}.", kind=kind), "NOT_FOUND")]
        if code is not None:
            return [
                field_error(("subject_id",), t("Only the {kind}'s owner can change its pictures.", kind=kind), code)
            ]
        return []

    @rpc
    def picture_add(
        self,
        kind: str,
        subject_id: str,
        actor_id: str,
        variants: list[dict[str, Any]],
        actor_is_admin: bool = False,
    ) -> dict[str, Any]:
        """Add a picture made by ``pictures.process`` (``variants`` as ``picture_store.to_wire``
        gives them) to a subject. ``{"picture": view | None, "errors": [...]}``: ``NOT_FOUND``,
        ``NOT_YOURS``, ``TOO_MANY``, ``INVALID``; nothing is stored on errors. A redelivered
        request stores nothing twice. ``actor_is_admin``: deprecated, ignored (a previous
        gateway's word). Raises ``Forbidden`` when the request's identity is not ``actor_id``."""
        actor_id = self._actor(actor_id)
        errors = self._refused(kind, subject_id, actor_id)
        if errors:
            return {"picture": None, "errors": errors}
        picture_id = once_id(self.request_id, "picture", actor_id, kind, subject_id)
        return self.pictures.add(f"{kind}:{subject_id}", picture_id, variants, actor_id)

    @rpc
    def picture_remove(
        self, kind: str, subject_id: str, picture_id: str, actor_id: str, actor_is_admin: bool = False
    ) -> dict[str, Any]:
        """Take a picture off its subject: ``{"removed": bool, "errors": [...]}`` (``NOT_FOUND``
        for a subject or picture that is not there, ``NOT_YOURS``); ``actor_is_admin`` and
        ``Forbidden`` as for ``picture_add``."""
        actor_id = self._actor(actor_id)
        errors = self._refused(kind, subject_id, actor_id)
        if errors:
            return {"removed": False, "errors": errors}
        if not self.pictures.remove(f"{kind}:{subject_id}", picture_id):
            return {"removed": False, "errors": [field_error(("picture_id",), t("No such picture."), "NOT_FOUND")]}
        return {"removed": True, "errors": []}

    @rpc
    def pictures_of(self, kind: str, subject_ids: list[str]) -> list[list[dict[str, Any]]]:
        """Each subject's pictures (``picture_store.view``), oldest first, in the order asked.
        Whether the asker may see the subject is the caller's to check first."""
        return self.pictures.of([f"{kind}:{s}" for s in subject_ids])

    @rpc
    def picture_file(self, kind: str, subject_id: str, picture_id: str, variant: str) -> dict[str, Any] | None:
        """One variant's bytes, ``{"content_type", "sha256", "data": base64}``, by its size
        (``large``, ...) or digest, while the picture is on the subject; None otherwise."""
        return self.pictures.file(f"{kind}:{subject_id}", picture_id, variant)
