"""The members service's storage, behind a nameko DependencyProvider."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from eventlet import tpool
from nameko.extensions import DependencyProvider
from pymongo import MongoClient

from parentnet_kit import querylog
from parentnet_kit.broadcast import Broadcast
from parentnet_kit.publisher import EventPublisher
from parentnet_kit.tokens import TokenSigner, load_pem

from . import gazetteer
from .city_directory import CityDirectory
from .security import Limits
from .store import MemberStore

# A container sees every core of its host (a CPU quota does not show in its core count): 8
# threads hash ~300 sign-ins a second and hold ~150 MiB.
DEFAULT_HASH_THREADS_MAX = 8


def hash_threads(config: dict[str, Any]) -> int:
    """How many threads hash passwords at once in this process: ``PASSWORD_HASH_THREADS``, or
    when unset or empty the cores this process may run on (``os.sched_getaffinity``), at most
    ``DEFAULT_HASH_THREADS_MAX``. Each argon2 hash holds 19 MiB
    (``security.HASHER``), and glibc keeps a thread's freed block for that thread's next use:
    with eventlet's default of 20 threads a members process stayed at ~500 MiB resident after a
    burst of sign-ins (bench/hash_memory.py); more threads than cores hash no faster. Raises
    ValueError naming the variable for anything but a whole number from 1 to 64."""
    raw = config.get("PASSWORD_HASH_THREADS")
    if raw is None or str(raw).strip() == "":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return max(1, min(DEFAULT_HASH_THREADS_MAX, cores))
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise ValueError(f"PASSWORD_HASH_THREADS must be a whole number from 1 to 64, not {raw!r}")
    return value


class Members(DependencyProvider):
    def setup(self) -> None:
        config = self.container.config
        # Before tpool's first use (it starts its threads then): the password hashes are its only work here.
        tpool.set_num_threads(hash_threads(config))
        private_pem = load_pem(config.get("AUTH_PRIVATE_KEY"), config.get("AUTH_PRIVATE_KEY_FILE"), "private key")
        signer = TokenSigner(private_pem, timedelta(seconds=int(config.get("ACCESS_TOKEN_TTL_SECONDS") or 900)))
        self.client = MongoClient(
            config["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=5000, event_listeners=querylog.listeners()
        )
        self.publisher = EventPublisher(config["AMQP_URI"])
        self.publisher.connect()
        self.store = MemberStore(
            self.client[config["MEMBERS_DB"]],
            self.publisher,
            signer,
            Limits.from_config(config),
            refresh_ttl=timedelta(days=int(config.get("REFRESH_TOKEN_TTL_DAYS") or 30)),
            # argon2 releases the GIL: hash in real threads, not on the eventlet hub.
            run_blocking=tpool.execute,
        )
        self.store.ensure_indexes()
        # Other members processes' profile changes, so that pages shown by this one do not keep
        # an old name for store.PUBLIC_TTL (every instance hears each member_updated).
        self.profiles = Broadcast(
            config["AMQP_URI"],
            ("members.member_updated",),
            lambda event: self.store.forget_profile(event.aggregate_id),
            self.store.forget_profiles,
        )

    def start(self) -> None:
        self.profiles_thread = self.container.spawn_managed_thread(self.profiles.run, identifier="member-profiles")

    def stop(self) -> None:
        self.profiles.stop()
        self.profiles_thread.wait()
        self.publisher.close()
        self.client.close()

    def get_dependency(self, worker_ctx) -> MemberStore:  # noqa: ANN001
        return self.store


class OpenCities(DependencyProvider):
    """The open cities (owned here) and the network-admin role; migrated before the first request.
    Ops name the first network admin with ``python -m members.admins grant EMAIL``."""

    def setup(self) -> None:
        config = self.container.config
        self.client = MongoClient(
            config["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=5000, event_listeners=querylog.listeners()
        )
        self.publisher = EventPublisher(config["AMQP_URI"])
        self.publisher.connect()
        self.directory = CityDirectory(self.client[config["MEMBERS_DB"]], self.publisher)
        self.directory.migrate()
        gazetteer.load()  # seconds of CPU: before the first request, never inside one

    def stop(self) -> None:
        self.publisher.close()
        self.client.close()

    def get_dependency(self, worker_ctx) -> CityDirectory:  # noqa: ANN001
        return self.directory
