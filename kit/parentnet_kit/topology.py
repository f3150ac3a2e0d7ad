"""The RabbitMQ topology every process declares at start-up, idempotently.

Domain events go to one durable topic exchange with routing key
``<source service>.<event type>``. Every known consumer has a durable queue, declared by
producers and consumers alike, so an event published before its consumer ever ran is
kept (and ``mandatory`` publishing turns a missing queue into an error instead of a
silent drop). A message that keeps failing is retried after a delay through a
``<queue>.retry`` queue, then dead-lettered into ``<queue>.dead``, from which a CLI
replays it.
"""

from __future__ import annotations

from dataclasses import dataclass

EVENTS_EXCHANGE = "parentnet.events"
DEAD_LETTER_EXCHANGE = "parentnet.dead-letter"
RETRY_DELAY_MS = 2_000
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class ConsumerQueue:
    name: str
    bindings: tuple[str, ...]

    @property
    def retry_queue(self) -> str:
        return f"{self.name}.retry"

    @property
    def dead_queue(self) -> str:
        return f"{self.name}.dead"


# The contract of who listens to what. Adding a consumer means adding it here.
# Each service that keeps a copy of the open cities has a queue of its own for the owner's events.
CONSUMERS: tuple[ConsumerQueue, ...] = (
    ConsumerQueue(
        "search.indexer",
        (
            "events.#",
            "listings.#",
            "members.#",
            # Parents' talk: threads, replies and questions only (search/talk.py), never messages.
            *(
                f"conversations.{t}"
                for t in (
                    "question_asked",
                    "question_updated",
                    "reply_posted",
                    "reply_updated",
                    "thread_posted",
                    "thread_updated",
                )
            ),
        ),
    ),
    ConsumerQueue("events.cities", ("members.city_opened",)),
    ConsumerQueue("listings.cities", ("members.city_opened",)),
    # Moderation keeps a copy of group roles; events and listings apply its decisions (hidden
    # content, suspensions) and between them take every moderation event, so each is routable.
    ConsumerQueue("moderation.members", ("members.group_created", "members.group_membership_changed")),
    ConsumerQueue("events.moderation", ("moderation.#",)),
    ConsumerQueue("listings.moderation", ("moderation.#",)),
    # Members keeps suspensions: a suspended member creates no group.
    ConsumerQueue("members.moderation", ("moderation.member_suspended", "moderation.member_unsuspended")),
    # Conversations keeps copies of groups, memberships and blocks, and applies moderation's decisions.
    ConsumerQueue(
        "conversations.copies",
        (
            "members.group_created",
            "members.group_membership_changed",
            "members.member_blocked",
            "members.member_unblocked",
            "moderation.content_hidden",
            "moderation.content_removed",
            "moderation.content_restored",
            "moderation.member_suspended",
            "moderation.member_unsuspended",
            "moderation.member_held",
            "moderation.member_released",
        ),
    ),
)


def _matches(pattern: list[str], words: list[str]) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more."""
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_matches(rest, words[i:]) for i in range(len(words) + 1))
    return bool(words) and head in ("*", words[0]) and _matches(rest, words[1:])


def durable_consumers(routing_key: str) -> list[str]:
    """The durable queues of ``CONSUMERS`` an event with ``routing_key`` reaches (by their
    bindings, topic-matched as RabbitMQ does). Empty for an event no service keeps: only live
    listeners take it, such as a gateway's subscription feed (gateway/gateway/feed.py), when
    one is running."""
    words = routing_key.split(".")
    return [q.name for q in CONSUMERS if any(_matches(key.split("."), words) for key in q.bindings)]


def consumer(name: str) -> ConsumerQueue:
    for queue in CONSUMERS:
        if queue.name == name:
            return queue
    raise KeyError(name)


def declare(channel) -> None:  # noqa: ANN001 - a pika channel
    """Declare exchanges and every consumer's queues; safe to call any number of times."""
    channel.exchange_declare(EVENTS_EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="direct", durable=True)
    for queue in CONSUMERS:
        channel.queue_declare(
            queue.name,
            durable=True,
            arguments={
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": queue.name,
            },
        )
        for key in queue.bindings:
            channel.queue_bind(queue.name, EVENTS_EXCHANGE, routing_key=key)
        # Retry: a message waits here for RETRY_DELAY_MS, then expires back into its queue.
        channel.queue_declare(
            queue.retry_queue,
            durable=True,
            arguments={
                "x-message-ttl": RETRY_DELAY_MS,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": queue.name,
            },
        )
        channel.queue_declare(queue.dead_queue, durable=True)
        channel.queue_bind(queue.dead_queue, DEAD_LETTER_EXCHANGE, routing_key=queue.name)
