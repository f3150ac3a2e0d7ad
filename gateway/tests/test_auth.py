"""A refused token says expired or not valid in our words, never the token library's."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.settings import Settings
from parentnet_kit.tokens import TokenSigner


def test_refused_tokens_are_explained_without_the_librarys_words():
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    settings = Settings(
        amqp_uri="amqp://unused",
        rpc_timeout=1,
        health_timeout=1,
        max_body_bytes=65536,
        introspection=True,
        explorer=False,
        auth_public_key=public,
    )
    client = TestClient(create_app(settings))
    expired, _ = TokenSigner(private, timedelta(minutes=15)).issue(
        "m1", "s1", now=datetime.now(UTC) - timedelta(hours=2)
    )
    not_utf8 = base64.urlsafe_b64encode(b"\xff\xfe{}").decode().rstrip("=") + ".e30.c2ln"
    for token, message in (
        (expired, "The access token has expired; refresh it or sign in again."),
        (not_utf8, "The access token is not valid; sign in again."),
        ("abc", "The access token is not valid; sign in again."),
    ):
        response = client.post(
            "/graphql", json={"query": "{ cities { slug } }"}, headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
        error = response.json()["errors"][0]
        assert error == {"message": message, "extensions": {"code": "UNAUTHENTICATED"}}
