"""Replay dead letters: ``python -m search.replay [--limit N] [--dry-run]``.

Messages that kept failing wait in ``search.indexer.dead``. Once the cause is fixed (a bug,
a mapping, a bad document upstream), this moves them back to ``search.indexer`` with their
attempt count reset. Each message is republished with publisher confirms *before* it is
acknowledged on the dead-letter queue: a crash in between replays it twice (harmless: the
indexer applies events by version), never loses it.
"""

from __future__ import annotations

import argparse
import json
import sys

import pika

from parentnet_kit import config, topology

from .indexer import ATTEMPTS_HEADER, QUEUE


def replay(amqp_uri: str, limit: int | None = None, dry_run: bool = False) -> int:
    """Move up to ``limit`` dead letters back to the indexer's queue; returns how many."""
    queue = topology.consumer(QUEUE)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        topology.declare(channel)
        channel.confirm_delivery()
        waiting = channel.queue_declare(queue.dead_queue, passive=True).method.message_count
        wanted = waiting if limit is None else min(limit, waiting)
        moved = 0
        while moved < wanted:
            method, properties, body = channel.basic_get(queue.dead_queue, auto_ack=False)
            if method is None:
                break
            if dry_run:
                print(_describe(properties, body), file=sys.stderr)
                channel.basic_nack(method.delivery_tag, requeue=True)
                moved += 1
                continue
            headers = {k: v for k, v in (properties.headers or {}).items() if k not in (ATTEMPTS_HEADER, "x-death")}
            properties.headers = headers
            channel.basic_publish("", queue.name, body, properties, mandatory=True)
            channel.basic_ack(method.delivery_tag)
            moved += 1
        return moved
    finally:
        connection.close()


def _describe(properties: pika.BasicProperties, body: bytes) -> str:
    try:
        event = json.loads(body)
        return f"{event.get('type')} {event.get('aggregate_id')} v{event.get('version')}"
    except ValueError:
        return f"unreadable message {properties.message_id or ''} ({len(body)} bytes)"


def main() -> None:
    parser = argparse.ArgumentParser(description="Move the search indexer's dead letters back to its queue.")
    parser.add_argument("--limit", type=int, help="at most this many (default: all)")
    parser.add_argument("--dry-run", action="store_true", help="list them, move nothing")
    args = parser.parse_args()
    moved = replay(config.amqp_uri(), args.limit, args.dry_run)
    print(f"{'would replay' if args.dry_run else 'replayed'} {moved} dead letter(s)")


if __name__ == "__main__":
    main()
