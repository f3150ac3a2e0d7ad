"""Which (document, version) writes Elasticsearch applied to an index, counted from outside.

Two witnesses that do not depend on the consumer's code:

- The shards' sequence numbers. Every write Elasticsearch applies takes the next sequence
  number of its shard; a write refused as stale or repeated (a 409 under
  ``version_type=external``) takes none and is counted apart in the index's
  ``index_failed_due_to_version_conflict``. So the advance of ``max_seq_no`` between two
  marks is the number of writes applied, but not *which* ones: a refused stale event and a
  repeat applied twice leave the same advance as two events applied once each.
- A :class:`Witness`: an HTTP proxy the service under test talks to instead of
  Elasticsearch. It forwards every request unchanged (a bulk request without its
  ``filter_path``, so the answer carries each item's ``_seq_no``) and keeps, for every bulk
  item Elasticsearch answered, the document, the version the document carries (its
  ``version`` field, whatever ``version_type`` the writer used), the status and, for an
  applied write, its sequence number. It reads each answer to the end even when the
  client has gone (killed, timed out), so a write applied for a process killed mid-request
  is still seen.

Between two marks, :func:`between` attributes every sequence number of the window to the
write the witness saw take it. When all of them are attributed (``unattributed == 0``: the
arithmetic that makes the count exact), ``twice`` is the number of applied writes beyond the
first for each (document, version): 0 exactly when nothing was applied twice. A write that
bypassed the witness leaves an unattributed sequence number, and the tests fail on it rather
than guess.

The indices here have one primary shard each (search's ``Indices.settings``); a sequence
number then names one write of the index. :func:`between` refuses an index with more.
"""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from elasticsearch import Elasticsearch, NotFoundError

# Headers that describe one hop, not the message: never forwarded as they came.
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "accept-encoding", "host"}


@dataclass(frozen=True)
class Answered:
    """One bulk item as Elasticsearch answered it: ``index`` is the concrete index (an alias
    resolved), ``version`` the ``version`` field of the document written (None for a delete
    or a document without one), ``seq_no`` the sequence number it took (None when refused)."""

    index: str
    doc_id: str
    version: int | None
    status: int
    seq_no: int | None

    @property
    def applied(self) -> bool:
        return 200 <= self.status < 300 and self.seq_no is not None


class Witness:
    """A forwarding proxy in front of Elasticsearch that keeps every bulk item's answer.

    ``Witness(upstream_url)``; ``start()`` returns the URL to give the process under test
    (``http://127.0.0.1:<port>``, kept in ``url``); ``answered`` lists what it saw, in arrival order;
    ``close()`` stops it. Requests other than ``_bulk`` pass through untouched."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http":
            raise ValueError(f"the witness forwards plain HTTP only, not {upstream}")
        self.upstream = (parts.hostname or "localhost", parts.port or 9200)
        self.answered: list[Answered] = []
        self.unreadable: list[str] = []  # bulk exchanges the witness could not read
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.url = ""

    def start(self) -> str:
        witness = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet: the test output is the table
                pass

            def forward(self) -> None:
                witness.forward(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self.url

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def position(self) -> int:
        with self.lock:
            return len(self.answered)

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        body = _read_body(handler)
        if body is None:  # the client died mid-request: Elasticsearch would never have seen it
            handler.close_connection = True
            return
        path = handler.path
        parts = urlsplit(path)
        bulk = parts.path.endswith("/_bulk") and handler.command in ("POST", "PUT")
        if bulk:  # the full answer, with each item's _seq_no; the client reads a superset
            query = [(k, v) for k, v in parse_qsl(parts.query) if k != "filter_path"]
            path = parts.path + ("?" + urlencode(query) if query else "")
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP}
        upstream = http.client.HTTPConnection(*self.upstream, timeout=600)
        try:
            upstream.request(handler.command, path, body=body or None, headers=headers)
            response = upstream.getresponse()
            answer = response.read()  # to the end, whether or not the client still waits
            status, reason, answer_headers = response.status, response.reason, response.getheaders()
        except OSError as exc:
            upstream.close()
            handler.send_error(502, f"witness: {exc}")
            return
        upstream.close()
        if bulk and 200 <= status < 300:
            try:
                self._keep(body, handler.headers.get("Content-Encoding"), answer)
            except (ValueError, KeyError) as exc:  # its writes then show as unattributed
                self.unreadable.append(repr(exc))
        try:
            handler.send_response(status, reason)
            for key, value in answer_headers:
                if key.lower() not in HOP and key.lower() != "content-encoding":
                    handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(answer)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(answer)
        except OSError:
            pass  # the client went away (killed, or gave up waiting): its write is kept anyway

    def _keep(self, body: bytes, encoding: str | None, answer: bytes) -> None:
        if encoding == "gzip":
            body = gzip.decompress(body)
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        sources: list[dict | None] = []
        i = 0
        while i < len(lines):
            (op,) = lines[i]
            if op == "delete":
                sources.append(None)
                i += 1
            else:
                sources.append(lines[i + 1] if op in ("index", "create") else None)
                i += 2
        items = json.loads(answer)["items"]
        seen = []
        for source, item in zip(sources, items, strict=True):
            (result,) = item.values()
            version = source.get("version") if isinstance(source, dict) else None
            seen.append(
                Answered(result["_index"], result["_id"], version, int(result["status"]), result.get("_seq_no"))
            )
        with self.lock:
            self.answered.extend(seen)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes | None:
    """The request's whole body; None when the client went away before sending all of it."""
    try:
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(handler.rfile.readline().split(b";")[0], 16)
                chunk = handler.rfile.read(size)
                if len(chunk) < size or not handler.rfile.readline():
                    return None
                if size == 0:
                    return b"".join(chunks)
                chunks.append(chunk)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
    except (OSError, ValueError):
        return None
    return body if len(body) == length else None


@dataclass(frozen=True)
class Mark:
    """An index's state at one moment: per primary shard (``"<index>/<shard>"``) the highest
    sequence number taken (-1 for none yet; an index that does not exist marks empty), the
    writes refused as version conflicts so far, and how many answers the witness had seen."""

    seq_nos: dict[str, int]
    refused: int
    seen: int = 0


@dataclass(frozen=True)
class Writes:
    """Between two marks. ``applied``: sequence numbers taken (writes Elasticsearch applied);
    ``refused``: version conflicts (a repeat or a stale event: harmless); ``attributed``: the
    applied writes the witness saw, one per sequence number of the window; ``answered``:
    every bulk item on these indices the witness saw answered meanwhile, refusals included."""

    applied: int
    refused: int
    attributed: tuple[Answered, ...]
    answered: tuple[Answered, ...]

    @property
    def unattributed(self) -> int:
        """Applied writes the witness did not see (written around it): ``twice`` is exact
        only at 0."""
        return self.applied - len(self.attributed)

    @property
    def pairs(self) -> Counter[tuple[str, int | None]]:
        """(document id, version) -> times applied."""
        return Counter((w.doc_id, w.version) for w in self.attributed)

    @property
    def twice(self) -> int:
        """Applied writes beyond the first of each (document, version); 0 when none."""
        return sum(n - 1 for n in self.pairs.values())

    @property
    def distinct(self) -> int:
        """Distinct (document, version) pairs applied."""
        return len(self.pairs)

    def refusals_of(self, doc_id: str) -> int:
        """The witness's 409s for one document in the window."""
        return sum(1 for w in self.answered if w.doc_id == doc_id and w.status == 409)


def mark(es: Elasticsearch, index: str, witness: Witness | None = None) -> Mark:
    """``index`` may be an alias; a missing index marks as empty (its first write is 0)."""
    seen = witness.position() if witness is not None else 0
    try:
        stats = es.indices.stats(index=index, metric="indexing", level="shards")
    except NotFoundError:
        return Mark({}, 0, seen)
    seq_nos: dict[str, int] = {}
    refused = 0
    for name, entry in stats["indices"].items():
        refused += entry["primaries"]["indexing"].get("index_failed_due_to_version_conflict", 0)
        for shard, copies in entry["shards"].items():
            for copy in copies:
                if copy["routing"]["primary"]:
                    seq_nos[f"{name}/{shard}"] = copy["seq_no"]["max_seq_no"]
    return Mark(seq_nos, refused, seen)


def between(before: Mark, after: Mark, witness: Witness | None = None) -> Writes:
    """What was applied to the marked index between two marks (``after`` taken once the index
    is quiet, :func:`quiet`). Without a witness nothing is attributed. Raises ValueError for
    an index with more than one primary shard (a sequence number would not name one write)."""
    windows: dict[str, tuple[int, int]] = {}
    for shard, seq_no in after.seq_nos.items():
        name = shard.rsplit("/", 1)[0]
        if name in windows:
            raise ValueError(f"{name} has more than one primary shard: its writes cannot be attributed")
        windows[name] = (before.seq_nos.get(shard, -1), seq_no)
    applied = sum(high - low for low, high in windows.values())
    attributed: dict[tuple[str, int], Answered] = {}
    answered: list[Answered] = []
    if witness is not None:
        with witness.lock:
            seen = list(witness.answered)
        for write in seen:
            if write.index not in windows:
                continue
            low, high = windows[write.index]
            if write.applied and low < write.seq_no <= high:  # type: ignore[operator]
                attributed[(write.index, write.seq_no)] = write  # type: ignore[index]
        answered = [w for w in seen[before.seen : after.seen] if w.index in windows]
    return Writes(applied, after.refused - before.refused, tuple(attributed.values()), tuple(answered))


def quiet(
    es: Elasticsearch, index: str, witness: Witness | None = None, still_for: float = 2.0, timeout: float = 60.0
) -> Mark:
    """Wait until nothing has been written to ``index`` for ``still_for`` seconds (what an
    earlier test left in flight lands first), and mark it then. Raises TimeoutError."""
    deadline = time.monotonic() + timeout
    last = mark(es, index, witness)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = mark(es, index, witness)
        if (now.seq_nos, now.refused) != (last.seq_nos, last.refused):
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= still_for:
            return now
    raise TimeoutError(f"{index} was still being written after {timeout:g} s")
