"""File uploads over POST /graphql: the GraphQL multipart request spec (jaydenseric's
graphql-multipart-request-spec, v2), which Apollo Client's upload link, urql and curl speak.

A ``multipart/form-data`` body whose first part is ``operations`` (the usual JSON request with
``null`` where files go), then ``map`` (``{"<part name>": ["variables.input.file"]}``), then
the files. Each file replaces its nulls as an ``Upload`` (the ``Upload`` scalar's value).

Bounds, checked while the body streams in, before anything executes:
- ``operations`` and ``map`` at most ``max_json_bytes`` each (the JSON body limit);
- at most ``max_files`` files, each at most ``max_file_bytes``: past that the request is
  refused with 413 naming the variable the file was for (``operations`` and ``map`` come first,
  so it is known) — the rest of the body is read and dropped up to ``drain_bytes`` so that
  clients that write their whole body before reading (curl, httpx, browsers) get the answer;
  a body declaring more than that is refused at once, unread;
- the whole body within ``body_seconds`` (``GATEWAY_UPLOAD_BODY_SECONDS``): a body still
  incomplete then is answered 408, so a client that stalls holds its upload slot no longer.
- CSRF: a multipart POST is a "simple" request a page on any site may send without a CORS
  preflight, so one must carry a header only scripts can set after a preflight
  (``PREFLIGHT_HEADERS``), as Apollo Server asks too. (JSON bodies need no such header: their
  Content-Type is not simple.)
"""

from __future__ import annotations

import asyncio
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from .transport import decode_json

# Any of these proves a script sent the request after a CORS preflight. Apollo Client's upload
# link sends what its headers option says: ``Apollo-Require-Preflight: true`` is the usual one.
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "graphql-preflight")


class Upload:
    """A file from a multipart request: ``filename`` and ``content_type`` as the client named
    them (never trusted: pictures are checked by decoding), ``data`` its bytes. Not a dataclass:
    orjson would serialize one, bytes and all, wherever variables are written."""

    __slots__ = ("content_type", "data", "filename")

    def __init__(self, filename: str, content_type: str, data: bytes) -> None:
        self.filename, self.content_type, self.data = filename, content_type, data

    def __repr__(self) -> str:  # never the bytes in a log line
        return f"Upload({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


class UploadRefused(Exception):
    """A multipart request refused before execution: HTTP ``status``, ``code``, ``message``, and
    ``field`` (the input path the file was for, e.g. ``["input", "file"]``) when known."""

    def __init__(self, status: int, code: str, message: str, field: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def needs_preflight(request: Request) -> bool:
    """True when a multipart request lacks every header of PREFLIGHT_HEADERS."""
    return not any(request.headers.get(name) for name in PREFLIGHT_HEADERS)


def _field(paths: list[str]) -> list[str]:
    """``variables.input.file`` as the input path ``["input", "file"]``."""
    first = paths[0].split(".") if paths else []
    return first[1:] if first[:1] == ["variables"] else first


class _Parts:
    """python-multipart callbacks collecting ``operations``, ``map`` and the mapped files."""

    def __init__(self, max_json_bytes: int, max_file_bytes: int, max_files: int) -> None:
        self.max_json_bytes, self.max_file_bytes, self.max_files = max_json_bytes, max_file_bytes, max_files
        self.fields: dict[str, bytes] = {}
        self.files: dict[str, Upload] = {}
        self.mapping: dict[str, list[str]] | None = None
        self._headers: dict[bytes, bytes] = {}
        self._name = b""
        self._value = b""
        self._data: list[bytes] = []
        self._size = 0
        self._disposition: tuple[str, dict[str, str]] = ("", {})

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._append_name(d[s:e]),
            "on_header_value": lambda d, s, e: self._append_value(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _begin(self) -> None:
        self._headers, self._name, self._value, self._data, self._size = {}, b"", b"", [], 0

    def _append_name(self, chunk: bytes) -> None:
        self._name += chunk

    def _append_value(self, chunk: bytes) -> None:
        self._value += chunk

    def _header_end(self) -> None:
        self._headers[self._name.lower()] = self._value
        self._name, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        self._disposition = (name, {"filename": filename.decode("utf-8", "replace")} if filename is not None else {})
        if "filename" in self._disposition[1] or name not in ("operations", "map"):
            if self.mapping is None:
                raise UploadRefused(400, "BAD_REQUEST", "Send the operations and map parts before the files.")
            if name not in self.mapping:
                raise UploadRefused(400, "BAD_REQUEST", f"The file part {name!r} is not in map.")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        name, options = self._disposition
        if name in ("operations", "map") and "filename" not in options:
            if self._size > self.max_json_bytes:
                raise UploadRefused(413, "PAYLOAD_TOO_LARGE", f"{name} is larger than {self.max_json_bytes} bytes.")
        elif self._size > self.max_file_bytes:
            assert self.mapping is not None
            field = _field(self.mapping[name])
            limit = f"{self.max_file_bytes / (1024 * 1024):g} MB"
            raise UploadRefused(413, "PAYLOAD_TOO_LARGE", f"{'.'.join(field)}: the file is larger than {limit}.", field)
        self._data.append(data[start:end])

    def _part_end(self) -> None:
        name, options = self._disposition
        body = b"".join(self._data)
        if name in ("operations", "map") and "filename" not in options:
            self.fields[name] = body
            if name == "map":
                self.mapping = _mapping(body, self.max_files)
            return
        content_type = self._headers.get(b"content-type", b"application/octet-stream").decode("latin-1")
        self.files[name] = Upload(options.get("filename", ""), content_type, body)


def _mapping(raw: bytes, max_files: int) -> dict[str, list[str]]:
    try:
        mapping = decode_json(raw)
    except ValueError:
        raise UploadRefused(400, "BAD_REQUEST", "map is not JSON.") from None
    if not isinstance(mapping, dict) or not all(
        isinstance(paths, list) and paths and all(isinstance(p, str) for p in paths) for paths in mapping.values()
    ):
        raise UploadRefused(400, "BAD_REQUEST", 'map must be an object like {"0": ["variables.input.file"]}.')
    if len(mapping) > max_files:
        raise UploadRefused(400, "BAD_REQUEST", f"At most {max_files} files per request.")
    return mapping


async def read_multipart(
    request: Request,
    max_json_bytes: int,
    max_file_bytes: int,
    max_files: int = 4,
    drain_bytes: int = 64 << 20,
    body_seconds: float | None = None,
) -> dict[str, Any]:
    """The request's GraphQL payload (``query``, ``variables``, ... with ``Upload``s where the
    map puts them). Raises ``UploadRefused``: 408 when the body (drained rest included) is not
    all in within ``body_seconds``."""
    try:
        async with asyncio.timeout(body_seconds):
            parts = await _read_parts(request, max_json_bytes, max_file_bytes, max_files, drain_bytes)
    except TimeoutError:
        message = f"The request body did not arrive within {body_seconds:g} seconds."
        raise UploadRefused(408, "REQUEST_TIMEOUT", message) from None
    return _payload(parts)


async def _read_parts(
    request: Request, max_json_bytes: int, max_file_bytes: int, max_files: int, drain_bytes: int
) -> _Parts:
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise UploadRefused(400, "BAD_REQUEST", "multipart/form-data needs a boundary parameter.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > drain_bytes:
        limit = f"{max_file_bytes / (1024 * 1024):g} MB"
        raise UploadRefused(413, "PAYLOAD_TOO_LARGE", f"The request is {declared} bytes: files are at most {limit}.")
    parts = _Parts(max_json_bytes, max_file_bytes, max_files)
    parser = MultipartParser(boundary, parts.callbacks())
    stream = request.stream()
    read = 0
    try:
        async for chunk in stream:
            read += len(chunk)
            parser.write(chunk)
        parser.finalize()
    except UploadRefused:
        # Read what is left (up to drain_bytes in all) so the client reads our answer.
        async for chunk in stream:
            read += len(chunk)
            if read > drain_bytes:
                break
        raise
    except ValueError as exc:  # python-multipart's parse errors
        raise UploadRefused(400, "BAD_REQUEST", f"The multipart body is malformed: {exc}") from None
    return parts


def _payload(parts: _Parts) -> dict[str, Any]:
    if "operations" not in parts.fields or parts.mapping is None:
        raise UploadRefused(400, "BAD_REQUEST", "A multipart request needs the operations and map parts.")
    try:
        payload = decode_json(parts.fields["operations"])
    except ValueError:
        raise UploadRefused(400, "BAD_REQUEST", "operations is not JSON.") from None
    if not isinstance(payload, dict):
        raise UploadRefused(400, "BAD_REQUEST", "operations must be one operation (a JSON object): no batches.")
    for name, paths in parts.mapping.items():
        upload = parts.files.get(name)
        if upload is None:
            raise UploadRefused(400, "BAD_REQUEST", f"map names the file part {name!r}, which was not sent.")
        for path in paths:
            _place(payload, path, upload)
    return payload


def _place(payload: dict[str, Any], path: str, upload: Upload) -> None:
    """Put ``upload`` where ``path`` (``variables.input.file``, ``variables.files.0``) says,
    in place of the null the client left there."""
    keys = path.split(".")
    if keys[0] != "variables" or len(keys) < 2 or not isinstance(payload.get("variables"), dict):
        raise UploadRefused(400, "BAD_REQUEST", f"map path {path!r} must name a variable: variables.<name>...")
    holder: Any = payload
    for key in keys[:-1]:
        holder = _step(holder, key, path)
    last = keys[-1]
    if isinstance(holder, dict) and holder.get(last, ...) is None:
        holder[last] = upload
    elif isinstance(holder, list) and last.isdigit() and int(last) < len(holder) and holder[int(last)] is None:
        holder[int(last)] = upload
    else:
        raise UploadRefused(400, "BAD_REQUEST", f"map path {path!r} must point at a null in operations.")


def _step(holder: Any, key: str, path: str) -> Any:
    if isinstance(holder, dict) and isinstance(holder.get(key), dict | list):
        return holder[key]
    if isinstance(holder, list) and key.isdigit() and int(key) < len(holder):
        return holder[int(key)]
    raise UploadRefused(400, "BAD_REQUEST", f"map path {path!r} does not exist in operations.")
