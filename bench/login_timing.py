"""Does a failed login tell whether the email exists? Median time of "wrong password" vs
"unknown email", measured side by side (interleaved) against the real MongoDB-protocol
server, throttling lifted. Run: ``.venv/bin/python bench/login_timing.py``."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

from pymongo import MongoClient

from members.security import Limits
from members.store import MemberStore
from parentnet_kit import config, testing, tokens

ROUNDS = 40


def main() -> None:
    db_name = testing.unique_name("bench_login")
    client = MongoClient(config.mongo_uri(), tz_aware=True)
    private_pem, _ = tokens.generate_key_pair()
    limits = Limits(per_account_client=10**6, per_client=10**6, per_account_unknown_clients=10**6)
    store = MemberStore(
        client[db_name],
        None,
        tokens.TokenSigner(private_pem, timedelta(minutes=5)),
        limits,
        timedelta(days=1),
        lambda fn, *args: fn(*args),
    )
    try:
        store.ensure_indexes()
        fields = {"email": "known@example.org", "password": "a long password", "display_name": "K", "city": "paris"}
        store.register(fields, "bench")
        wrong, unknown = [], []
        for i in range(ROUNDS):
            for email, sink in (("known@example.org", wrong), (f"nobody{i}@example.org", unknown)):
                start = time.perf_counter()
                store.login(email, "not the password", "bench")
                sink.append(time.perf_counter() - start)
        a, b = statistics.median(wrong), statistics.median(unknown)
        print(f"wrong password p50 {a * 1000:.1f} ms; unknown email p50 {b * 1000:.1f} ms; ratio {b / a:.2f}")
    finally:
        client.drop_database(db_name)


if __name__ == "__main__":
    main()
