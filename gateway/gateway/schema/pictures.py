"""Pictures of outings, listings, groups and members: the ``Picture`` type, the ``pictures``
field each of those types carries, ``pictureAdd``/``pictureRemove``, and the URLs that serve
them (``GET /pictures/...``, see ``serve``).

An upload arrives as an ``Upload`` (``uploads.py``). It is decoded, checked, turned upright and
stripped of every piece of metadata here (``parentnet_kit.pictures.process``, on worker
threads: Pillow releases the interpreter while it decodes and resizes, so the event loop keeps
serving), and only the clean variants go to the service that owns the subject (events:
outings; listings: listings; members: groups and members), which checks them again and stores
them in its own database. A photo's GPS position never leaves this process.

Picture URLs are a capability for one viewer: ``/pictures/<kind>/<subject>/<picture>/<size>-<name>.<ext>``
(immutable: ``name`` is ``UrlSigner.content_name``, an HMAC of the bytes' digest keyed per
picture, never the plain digest, which would let anyone holding a photo recognise it) with
``v`` (the viewer, sealed; ``-`` for none), ``e`` (expiry) and ``s`` (an HMAC of all of it
under ``GATEWAY_PICTURE_URL_KEY``). Serving checks the signature, then asks again whether that
viewer may see the subject now (blocks, private groups, a member's pictures for signed-in
viewers only, removal) and whether the picture is still on it; any "no" is the same 404 as a
URL that never existed, so a URL is no oracle. A URL copied elsewhere works for that viewer's rights
until it expires (12 to 24 h; stable for 12 h, so browsers cache it).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import graphene
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response

from parentnet_kit import picture_store
from parentnet_kit import pictures as processing
from parentnet_kit.i18n import t

from .. import ids
from ..context import Context, picture_owner
from ..picture_urls import UrlSigner
from ..rpc import CountingRpc
from ..uploads import Upload as UploadedFile
from .base import (
    NODE_LOADERS,
    NODE_TYPES,
    SUBJECTS,
    TYPE_OF_KIND,
    InputMutation,
    Node,
    enum,
    may_see_member,
    members_only,
    parse_time,
    require_viewer,
    user_errors,
    user_errors_field,
)

log = logging.getLogger(__name__)

# Two uploads decoded at once per gateway (the machine's cores); the others wait their turn.
_WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pictures")


# Set by app.create_app from its Settings; these serve a schema built without an app.
SIGNER = UrlSigner()
LIMITS = processing.Limits()


def configure(signer: UrlSigner, limits: processing.Limits) -> None:
    """The URL key and the upload limits of this process (``Settings``)."""
    global SIGNER, LIMITS
    SIGNER, LIMITS = signer, limits


class Upload(graphene.Scalar):
    """A file sent in a multipart request (the GraphQL multipart request spec, as Apollo Client's
    upload link sends it): leave null in the variables and map a file part to it. Input only."""

    @staticmethod
    def serialize(value: Any) -> None:
        raise TypeError("Upload is an input type")

    @staticmethod
    def parse_value(value: Any) -> UploadedFile:
        if isinstance(value, UploadedFile):
            return value
        raise GraphQLError("Upload must be a file of a multipart/form-data request, mapped to this variable.")

    @staticmethod
    def parse_literal(node: Any, _variables: Any = None) -> UploadedFile:
        raise GraphQLError("Upload cannot be written in the query: pass the file as a variable.")


PictureSize = enum(
    "PictureSize",
    "Sizes every picture is kept in; none is the file as sent (metadata is never kept).",
    [
        ("THUMBNAIL", "thumbnail", "Fits in 320 x 320 pixels: lists and map pins."),
        ("MEDIUM", "medium", "Fits in 1024 x 1024 pixels: a page on a phone."),
        ("LARGE", "large", "Fits in 2048 x 2048 pixels: full screen. The largest there is."),
    ],
)


class PictureVariant(graphene.ObjectType):
    """One size of a picture: a JPEG (WebP when it has transparency) with no metadata."""

    size = graphene.Field(PictureSize, required=True, description="Which size this is.")
    url = graphene.String(
        required=True,
        description="Where to fetch it, for you: valid 12 to 24 hours (ask again for a fresh one), "
        "served with Cache-Control immutable and an ETag.",
    )
    width = graphene.Int(required=True, description="Width in pixels, as shown upright.")
    height = graphene.Int(required=True, description="Height in pixels, as shown upright.")
    content_type = graphene.String(required=True, description="image/jpeg or image/webp.")
    byte_size = graphene.Int(required=True, description="Size of the file in bytes.")

    @staticmethod
    def resolve_url(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        ctx: Context = info.context
        base = str(ctx.request.base_url) if ctx.request is not None else "/"
        return SIGNER.url(root["path"], ctx.viewer_id, base)

    @staticmethod
    def resolve_byte_size(root: dict[str, Any], info: graphene.ResolveInfo) -> int:
        return int(root["bytes"])


class Picture(graphene.ObjectType):
    """A picture of an outing, listing, group or member, in several sizes. Its metadata (EXIF,
    XMP, IPTC, GPS positions, embedded thumbnails) was removed before anybody could fetch it."""

    class Meta:
        interfaces = (Node,)

    width = graphene.Int(required=True, description="Width of the LARGE size in pixels, upright.")
    height = graphene.Int(required=True, description="Height of the LARGE size in pixels, upright.")
    created_at = graphene.DateTime(required=True, description="When it was added.")
    variants = graphene.List(graphene.NonNull(PictureVariant), required=True, description="Every size, largest first.")
    variant = graphene.Field(
        PictureVariant,
        size=graphene.Argument(PictureSize, required=True, description="Which size."),
        description="One size of it.",
    )

    @staticmethod
    def resolve_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id("Picture", f"{root['subject']}:{root['id']}")

    @staticmethod
    def resolve_created_at(root: dict[str, Any], info: graphene.ResolveInfo) -> Any:
        return parse_time(root["created_at"])

    @staticmethod
    def resolve_variants(root: dict[str, Any], info: graphene.ResolveInfo) -> list[dict[str, Any]]:
        return [_variant(root, v) for v in root["variants"]]

    @staticmethod
    def resolve_variant(root: dict[str, Any], info: graphene.ResolveInfo, size: Any) -> dict[str, Any] | None:
        wanted = getattr(size, "value", size)
        return next((_variant(root, v) for v in root["variants"] if v["size"] == wanted), None)


def _variant(picture: dict[str, Any], variant: dict[str, Any]) -> dict[str, Any]:
    kind, subject_id = picture["subject"].split(":", 1)
    extension = processing.EXTENSIONS[variant["content_type"]]
    name = SIGNER.content_name(picture["id"], variant["sha256"])
    path = f"/pictures/{kind}/{subject_id}/{picture['id']}/{variant['size']}-{name}.{extension}"
    return {**variant, "path": path}


def as_picture(view: dict[str, Any]) -> dict[str, Any]:
    return {**view, "__typename": "Picture"}


async def _visible_subject(ctx: Context, type_name: str, subject_id: str) -> dict[str, Any] | None:
    """The subject as ``node(id:)`` shows it to the viewer, or None; a private group's
    pictures, like its outings, are for its members only."""
    subject = await NODE_LOADERS[type_name](SimpleNamespace(context=ctx), subject_id)  # type: ignore[arg-type]
    if subject is not None and members_only(type_name, subject) and await ctx.group_role(subject_id) is None:
        return None
    if subject is not None and type_name == "Member" and not await may_see_member(ctx, subject_id):
        return None
    return subject


async def _owner_refusal(ctx: Context, type_name: str, subject: dict[str, Any]) -> tuple[str | None, bool]:
    """(a userErrors code or None, whether the viewer acts as a group admin): checked here before
    any decoding; the owning service checks again."""
    viewer = ctx.viewer_id
    if type_name == "Outing":
        admin = await ctx.group_role(subject.get("group_id")) == "admin"
        return (None if subject.get("organizer_id") == viewer or admin else "NOT_YOURS"), admin
    if type_name == "Listing":
        return (None if subject.get("owner_id") == viewer else "NOT_YOURS"), False
    if type_name == "Group":
        admin = await ctx.group_role(subject["id"]) == "admin"
        return (None if admin else "NOT_YOURS"), admin
    return (None if subject["id"] == viewer else "NOT_YOURS"), False


def _error(field: str, message: str, code: str) -> list[dict[str, Any]]:
    return [{"field": ["input", field], "message": message, "code": code}]


async def _subject(
    info: graphene.ResolveInfo, global_id: Any, field: str
) -> tuple[str, str, dict[str, Any] | None, list[dict[str, Any]]]:
    """(type name, raw id, the subject, userErrors) for a subject ID the viewer may change."""
    decoded = ids.from_global_id(global_id) if isinstance(global_id, str) else None
    if decoded is None or decoded[0] not in SUBJECTS:
        return "", "", None, _error(field, t("Give the ID of an outing, listing, group or member."), "NOT_FOUND")
    type_name, subject_id = decoded
    subject = await _visible_subject(info.context, type_name, subject_id)
    if subject is None:
        return type_name, subject_id, None, _error(field, t("No such {value}.", value=type_name.lower()), "NOT_FOUND")
    return type_name, subject_id, subject, []


class PictureAddInput(graphene.InputObjectType):
    """A picture to add to something you own."""

    subject_id = graphene.ID(
        required=True,
        description="The outing (you organise it or admin its group), listing (yours), group (you admin it) "
        "or member (you) it shows.",
    )
    file = graphene.Field(
        Upload,
        required=True,
        description="A JPEG, PNG or WebP file (checked by decoding it), at most 10 MB and 50 megapixels. Its "
        "metadata is removed; it is kept in the sizes of PictureSize.",
    )


class PictureAddPayload(graphene.ObjectType):
    """The picture added."""

    picture = graphene.Field(Picture, description="The picture as stored; null when userErrors is not empty.")
    user_errors = user_errors_field()


class PictureAdd(InputMutation, input=PictureAddInput, about="The subject and the file.", output=PictureAddPayload):
    """Add a picture (signed in, as the subject's owner). Nothing is stored when userErrors is not
    empty: TOO_LARGE, NOT_AN_IMAGE or REQUIRED on file; NOT_FOUND, NOT_YOURS or TOO_MANY on subjectId.
    Send it as a multipart request (Apollo Client's upload link, or curl -F) with an
    Apollo-Require-Preflight header."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        viewer = require_viewer(info)
        type_name, subject_id, subject, errors = await _subject(info, input["subject_id"], "subjectId")
        if subject is None:
            return {"picture": None, "user_errors": errors}
        refusal, admin = await _owner_refusal(ctx, type_name, subject)
        if refusal is not None:
            message = t("Only the {value}'s owner can add pictures to it.", value=type_name.lower())
            return {"picture": None, "user_errors": _error("subjectId", message, refusal)}
        upload: UploadedFile = input["file"]
        try:
            variants = await asyncio.get_running_loop().run_in_executor(
                _WORKERS, processing.process, upload.data, LIMITS
            )
        except processing.PictureRefused as refused:
            return {"picture": None, "user_errors": _error("file", refused.message, refused.code)}
        kind, service = SUBJECTS[type_name]
        wire = picture_store.to_wire(variants)
        owner = picture_owner(ctx.rpc, service).using(headers=ctx.once(info))
        result = await owner.picture_add(
            kind=kind, subject_id=subject_id, actor_id=viewer, variants=wire, actor_is_admin=admin
        )
        if result["errors"]:
            return {"picture": None, "user_errors": user_errors(result["errors"], ("input",))}
        return {"picture": as_picture(result["picture"]), "user_errors": []}


class PictureRemoveInput(graphene.InputObjectType):
    """Which picture."""

    picture_id = graphene.ID(required=True, description="The picture's ID.")


class PictureRemovePayload(graphene.ObjectType):
    """What was removed."""

    removed_picture_id = graphene.ID(description="The removed picture's ID; null when userErrors is not empty.")
    user_errors = user_errors_field()


def _picture_id(global_id: Any) -> tuple[str, str, str] | None:
    """(type name, subject id, picture id) from a Picture's global ID."""
    decoded = ids.from_global_id(global_id) if isinstance(global_id, str) else None
    if decoded is None or decoded[0] != "Picture":
        return None
    kind, _, rest = decoded[1].partition(":")
    subject_id, _, picture_id = rest.rpartition(":")
    if kind not in TYPE_OF_KIND or not subject_id or not picture_id:
        return None
    return TYPE_OF_KIND[kind], subject_id, picture_id


class PictureRemove(InputMutation, input=PictureRemoveInput, about="Which picture.", output=PictureRemovePayload):
    """Remove a picture (its subject's owner): its URLs stop working at once. NOT_FOUND or
    NOT_YOURS on pictureId otherwise, and nothing changes."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: Context = info.context
        viewer = require_viewer(info)
        named = _picture_id(input["picture_id"])
        not_found = _error("pictureId", t("No such picture."), "NOT_FOUND")
        if named is None:
            return {"user_errors": not_found}
        type_name, subject_id, picture_id = named
        subject = await _visible_subject(ctx, type_name, subject_id)
        if subject is None:
            return {"user_errors": not_found}
        refusal, admin = await _owner_refusal(ctx, type_name, subject)
        if refusal is not None:
            message = t("Only the {value}'s owner can remove its pictures.", value=type_name.lower())
            return {"user_errors": _error("pictureId", message, refusal)}
        kind, service = SUBJECTS[type_name]
        result = await picture_owner(ctx.rpc, service).picture_remove(
            kind=kind, subject_id=subject_id, picture_id=picture_id, actor_id=viewer, actor_is_admin=admin
        )
        if result["errors"]:
            return {"user_errors": [{**e, "field": ["input", "pictureId"]} for e in user_errors(result["errors"])]}
        return {"removed_picture_id": input["picture_id"], "user_errors": []}


class PictureMutations(graphene.ObjectType):
    picture_add = PictureAdd.Field()
    picture_remove = PictureRemove.Field()


async def load_picture(info: graphene.ResolveInfo, local_id: str) -> dict[str, Any] | None:
    named = _picture_id(ids.to_global_id("Picture", local_id))
    if named is None:
        return None
    type_name, subject_id, picture_id = named
    ctx: Context = info.context
    if await _visible_subject(ctx, type_name, subject_id) is None:
        return None
    kind, service = SUBJECTS[type_name]
    listed = (await picture_owner(ctx.rpc, service).pictures_of(kind=kind, subject_ids=[subject_id]))[0]
    return next((as_picture(p) for p in listed if p["id"] == picture_id), None)


NODE_TYPES.update(Picture=Picture)
NODE_LOADERS.update(Picture=load_picture)


# -- serving -------------------------------------------------------------------------------


def _not_found() -> Response:
    return Response("Not found.\n", 404, media_type="text/plain", headers={"Cache-Control": "no-store"})


async def serve(request: Request, rpc: Any, authenticator: Any, client: str) -> Response:
    """``GET /pictures/<kind>/<subject>/<picture>/<size>-<name>.<ext>?v&e&s``: the variant's bytes
    for the viewer the URL was made for, if they may still see it; 404 otherwise, whatever the
    reason. 304 for a matching If-None-Match."""
    params = request.path_params
    kind, subject_id, picture_id, file = params["kind"], params["subject"], params["picture"], params["file"]
    stem, _, extension = file.partition(".")
    size, _, name = stem.partition("-")
    path = request.url.path
    query = request.query_params
    checked = SIGNER.check(path, query.get("v", ""), query.get("e", ""), query.get("s", ""))
    if checked is None or kind not in TYPE_OF_KIND or size not in dict(processing.SIZES) or len(name) != 64:
        return _not_found()
    left, viewer = checked
    ctx = Context(
        request=request,
        rpc=CountingRpc(rpc),
        viewer_id=viewer,
        client=client,
        authenticator=authenticator,
    )
    type_name = TYPE_OF_KIND[kind]
    service = SUBJECTS[type_name][1]
    # The three calls at once (the subject, the viewer's blocks and groups, the bytes): one round
    # trip instead of three; nothing is sent before every answer is in.
    visible, stored, _ = await asyncio.gather(
        _visible_subject(ctx, type_name, subject_id),
        picture_owner(ctx.rpc, service).picture_file(
            kind=kind, subject_id=subject_id, picture_id=picture_id, variant=size
        ),
        ctx.viewer_context(),
    )
    if visible is None or stored is None or processing.EXTENSIONS.get(stored["content_type"]) != extension:
        return _not_found()
    if not hmac.compare_digest(SIGNER.content_name(picture_id, stored["sha256"]), name):
        return _not_found()
    headers = {
        "ETag": f'"{name}"',
        # For this viewer only (the URL carries them, sealed); the bytes at this path never change.
        "Cache-Control": f"private, max-age={left}, immutable",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",
    }
    tags = [t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")]
    if headers["ETag"] in tags or "*" in tags:
        return Response(status_code=304, headers=headers)
    return Response(base64.b64decode(stored["data"]), 200, media_type=stored["content_type"], headers=headers)
