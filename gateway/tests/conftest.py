"""Gateway tests run without RabbitMQ: a stand-in answers the RPC calls (pure request handling)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.limits import Limits
from gateway.settings import Settings
from parentnet_kit import cities

# The gateway's copy of the open cities comes from members (gateway/open_cities.py).
FOUNDING = [city.to_dict() for city in cities.founding()]


class FakeRpc:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = {"members.open_cities": FOUNDING, **answers}
        self.calls: list[tuple[str, str]] = []
        # Who each call was made for (the identity RpcClient would sign), in order.
        self.identities: list[str | None] = []
        self.connected = True

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def call(
        self,
        service: str,
        method: str,
        *args: Any,
        timeout: float | None = None,
        identity: str | None = None,
        **kwargs: Any,
    ) -> Any:
        self.calls.append((service, method))
        self.identities.append(identity)
        answer = self.answers[f"{service}.{method}"]
        if isinstance(answer, Exception):
            raise answer
        return answer(*args, **kwargs) if callable(answer) else answer


@pytest.fixture
def make_client():
    def make(answers: dict[str, Any], **overrides: Any) -> tuple[TestClient, FakeRpc]:
        settings = Settings(
            amqp_uri="amqp://unused",
            rpc_timeout=1,
            health_timeout=1,
            max_body_bytes=overrides.get("max_body_bytes", 64 * 1024),
            introspection=overrides.get("introspection", True),
            explorer=True,
            cors_origins=overrides.get("cors_origins", ()),
            limits=overrides.get("limits", Limits()),
            max_sockets_per_address=overrides.get("max_sockets_per_address", 50),
            max_uploads_in_flight=overrides.get("max_uploads_in_flight", 8),
        )
        app = create_app(settings)
        fake = FakeRpc(answers)
        app.state.rpc.call = fake.call  # the app's resolvers reach RPC through this client
        app.state.rpc.connect = fake.connect
        return TestClient(app), fake

    return make
