"""Pictures of a service's own subjects (outings, listings, groups, members) in that
service's database, read by ``_id`` only, correct on MongoDB and FerretDB alike.

Not GridFS: it works on FerretDB 1.24, but reads a file's chunks with ``{files_id, n}``, a
filter FerretDB evaluates after reading the whole chunks collection (docs/store.md). Measured
on the local server (2026-11-30, load ~8): reading back one 600 KB file took 0.5 s with 1 file
stored and 31.6 s with 151 (453 chunks); one 600 KB document by ``_id`` among 151, 84 ms. A
variant is at most 2048 px on a side (1.4 MB for pure noise), far under a document's 16 MB, so
each is one document read by ``_id``.

- ``picture_files``: ``{_id: "<picture>:<size>", data, content_type, sha256}``, the bytes.
- ``pictures``: ``{_id: "<picture>", subject, slot, width, height, variants, created_at}``.
- ``picture_slots``: ``{_id: "<subject>:<k>", picture_id}``, k from 1 to ``per_subject``: a
  picture takes the lowest free slot by a unique-key insert, so racing uploads never put more
  than ``per_subject`` pictures on one subject (no counter, no read-then-write). A redelivered
  request finds its own slot; a slot whose writer died and was never redelivered is taken back
  after ``ABANDONED_AFTER``.
- ``picture_sets``: ``{_id: "<subject>", pictures: [...]}``, what readers read: one lookup per
  subject. Rebuilt from the slots after each change, and again until what it wrote is what
  the slots say, so the last writer always leaves it right.

A subject is ``"<kind>:<id>"`` (``outing:…``). Who may change a subject's pictures, and who may
see them, is the owning service's and the gateway's to decide; this module only stores. Every
variant is checked again here (``pictures.metadata_free``) before it is stored: whatever sent
it, nothing with metadata is ever written.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import Binary
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from . import pictures, upserts
from .fields import field_error
from .i18n import t
from .lookups import by_ids

PER_SUBJECT = int(os.environ.get("PICTURES_PER_SUBJECT", "8"))
REBUILD_ROUNDS = 5
# A request lives at most the gateway's mutation deadline (30 s) and its redelivery as long.
ABANDONED_AFTER = timedelta(minutes=5)


class PictureStore:
    """A service's pictures. ``per_subject``: at most that many on one subject."""

    def __init__(self, db: Database, per_subject: int = PER_SUBJECT) -> None:
        self.files = db["picture_files"]
        self.pictures = db["pictures"]
        self.slots = db["picture_slots"]
        self.sets = db["picture_sets"]
        self.per_subject = per_subject

    # -- changing ----------------------------------------------------------------------------
    def add(self, subject: str, picture_id: str, variants: list[dict[str, Any]], added_by: str) -> dict[str, Any]:
        """Store a picture made by ``pictures.process`` (``variants`` as ``to_wire`` gives them).
        ``{"picture": view, "errors": []}``, or ``{"picture": None, "errors": [...]}`` with
        ``TOO_MANY`` (the subject has ``per_subject`` already) or ``INVALID`` (variants that are
        not what ``process`` makes: nothing stored). ``picture_id`` comes from the request's id:
        the same request delivered twice stores one picture."""
        existing = self.pictures.find_one({"_id": picture_id})
        if existing is not None:
            self._rebuild(subject)  # a redelivery after a crash before the rebuild
            return {"picture": view(existing), "errors": []}
        try:
            decoded = [from_wire(v) for v in variants]
        except ValueError as exc:
            return {"picture": None, "errors": [field_error(("file",), str(exc), "INVALID")]}
        slot = self._take_slot(subject, picture_id)
        if slot is None:
            message = t("A subject has at most {per_subject} pictures: remove one first.", per_subject=self.per_subject)
            return {"picture": None, "errors": [field_error(("subject_id",), message, "TOO_MANY")]}
        for variant in decoded:
            with contextlib.suppress(DuplicateKeyError):
                self.files.insert_one(
                    {
                        "_id": f"{picture_id}:{variant.size}",
                        "data": Binary(variant.data),
                        "content_type": variant.content_type,
                        "sha256": variant.sha256,
                    }
                )
        largest = decoded[0]
        document = {
            "_id": picture_id,
            "subject": subject,
            "slot": slot,
            "width": largest.width,
            "height": largest.height,
            "variants": [
                {
                    "size": v.size,
                    "width": v.width,
                    "height": v.height,
                    "content_type": v.content_type,
                    "sha256": v.sha256,
                    "bytes": len(v.data),
                }
                for v in decoded
            ],
            "added_by": added_by,
            "created_at": datetime.now(UTC),
        }
        with contextlib.suppress(DuplicateKeyError):
            self.pictures.insert_one(document)
        self._rebuild(subject)
        return {"picture": view(document), "errors": []}

    def remove(self, subject: str, picture_id: str) -> bool:
        """Take a picture off ``subject``: it stops being listed and served at once, then its
        files and slot go. False when the subject has no such picture."""
        document = self.pictures.find_one({"_id": picture_id})
        if document is None or document["subject"] != subject:
            return False
        self.pictures.delete_one({"_id": picture_id})
        self._rebuild(subject)
        for variant in document["variants"]:
            self.files.delete_one({"_id": f"{picture_id}:{variant['size']}"})
        slot_id = f"{subject}:{document['slot']}"
        slot = self.slots.find_one({"_id": slot_id})
        if slot is not None and slot["picture_id"] == picture_id:
            self.slots.delete_one({"_id": slot_id})
        return True

    def remove_all(self, subject: str) -> int:
        """Every picture of ``subject`` (it was removed): how many."""
        return sum(self.remove(subject, p["id"]) for p in self.of([subject])[0])

    def _take_slot(self, subject: str, picture_id: str) -> int | None:
        for k in range(1, self.per_subject + 1):
            slot_id = f"{subject}:{k}"
            for _ in range(2):
                try:
                    self.slots.insert_one({"_id": slot_id, "picture_id": picture_id, "at": datetime.now(UTC)})
                    return k
                except DuplicateKeyError:
                    held = self.slots.find_one({"_id": slot_id})
                    if held is not None and held["picture_id"] == picture_id:
                        return k  # this very request took it before (a redelivery)
                    if held is None or not self._abandoned(held):
                        break
                    # Its writer died before storing the picture, and no redelivery came.
                    self.slots.delete_one({"_id": slot_id})
        return None

    def _abandoned(self, slot: dict[str, Any]) -> bool:
        """A slot whose picture never came, taken longer ago than any request lives."""
        taken = slot.get("at")
        old = taken is None or taken.replace(tzinfo=UTC) < datetime.now(UTC) - ABANDONED_AFTER
        return old and self.pictures.find_one({"_id": slot["picture_id"]}, {"_id": 1}) is None

    def _current(self, subject: str) -> list[dict[str, Any]]:
        held = by_ids(self.slots, [f"{subject}:{k}" for k in range(1, self.per_subject + 1)])
        found = by_ids(self.pictures, [slot["picture_id"] for slot in held.values()])
        listed = [view(p) for p in found.values() if p["subject"] == subject]
        return sorted(listed, key=lambda p: (p["created_at"], p["id"]))

    def _rebuild(self, subject: str) -> None:
        written = None
        for _ in range(REBUILD_ROUNDS):
            current = self._current(subject)
            if current == written:
                return
            upserts.replace(self.sets, subject, {"_id": subject, "pictures": current})
            written = current

    # -- reading -----------------------------------------------------------------------------
    def of(self, subjects: list[str]) -> list[list[dict[str, Any]]]:
        """Each subject's pictures, oldest first (``view``'s shape), in the order asked."""
        found = by_ids(self.sets, subjects)
        return [found[s]["pictures"] if s in found else [] for s in subjects]

    def file(self, subject: str, picture_id: str, variant_name: str) -> dict[str, Any] | None:
        """``{"content_type", "sha256", "data": base64}`` of the variant of ``picture_id`` named by
        ``variant_name``, its size (``large``, ...) or its digest, while the picture is on
        ``subject``; None otherwise."""
        listed = next((p for p in self.of([subject])[0] if p["id"] == picture_id), None)
        if listed is None:
            return None
        variant = next((v for v in listed["variants"] if variant_name in (v["size"], v["sha256"])), None)
        if variant is None:
            return None
        stored = self.files.find_one({"_id": f"{picture_id}:{variant['size']}"})
        if stored is None:
            return None
        return {
            "content_type": stored["content_type"],
            "sha256": stored["sha256"],
            "data": base64.b64encode(bytes(stored["data"])).decode("ascii"),
        }


def view(document: dict[str, Any]) -> dict[str, Any]:
    """A picture as the services answer it: ``{id, subject, width, height, created_at (ISO
    8601), variants: [{size, width, height, content_type, sha256, bytes}]}``; pixels."""
    created = document["created_at"]
    return {
        "id": document["_id"] if "_id" in document else document["id"],
        "subject": document["subject"],
        "width": document["width"],
        "height": document["height"],
        "created_at": created if isinstance(created, str) else created.replace(tzinfo=UTC).isoformat(),
        "variants": document["variants"],
    }


def to_wire(variants: list[pictures.Variant]) -> list[dict[str, Any]]:
    """Variants as JSON for an RPC: the bytes base64-encoded."""
    return [
        {
            "size": v.size,
            "width": v.width,
            "height": v.height,
            "content_type": v.content_type,
            "sha256": v.sha256,
            "data": base64.b64encode(v.data).decode("ascii"),
        }
        for v in variants
    ]


def from_wire(raw: Any) -> pictures.Variant:
    """A variant from an RPC, checked: a known size within its bounds, the content type its
    bytes are, the digest they have, and no metadata. ValueError naming what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("a variant must be an object")
    edges = dict(pictures.SIZES)
    size, content_type = raw.get("size"), raw.get("content_type")
    if size not in edges or content_type not in ("image/jpeg", "image/webp"):
        raise ValueError(f"unknown variant {size!r} of type {content_type!r}")
    try:
        data = base64.b64decode(raw.get("data", ""), validate=True)
        width, height = int(raw["width"]), int(raw["height"])
    except (ValueError, TypeError, KeyError):
        raise ValueError(f"the {size} variant is not base64 with its width and height") from None
    if not (0 < width <= edges[size] and 0 < height <= edges[size]):
        raise ValueError(f"the {size} variant is {width} x {height}, past {edges[size]} pixels")
    magic = {"image/jpeg": data[:2] == b"\xff\xd8", "image/webp": data[8:12] == b"WEBP"}
    if not magic[content_type]:
        raise ValueError(f"the {size} variant is not {content_type}")
    if hashlib.sha256(data).hexdigest() != raw.get("sha256"):
        raise ValueError(f"the {size} variant's sha256 does not match its bytes")
    problems = pictures.metadata_free(data)
    if problems:
        raise ValueError(f"the {size} variant carries metadata ({', '.join(problems)})")
    return pictures.Variant(size, width, height, content_type, data, raw["sha256"])
