"""The internal identity as ops deploy it (docs/operations.md), outside docker-compose: from the
services' config.yml with the environment an env file or a manifest gives.

- ``INTERNAL_IDENTITY_REQUIRED`` set but empty (``INTERNAL_IDENTITY_REQUIRED=``: nameko reads it as
  null) or set to a word nobody defined ("enabled", "y") used to turn the check off silently;
  now the service refuses to start, naming the variable and the accepted values.
- Key rotation: a token that does not verify is refused whatever ``INTERNAL_IDENTITY_REQUIRED``
  says (so turning it off never helped a rotation); services accept the previous public key
  beside the new one (``INTERNAL_IDENTITY_PREVIOUS_PUBLIC_KEY``) for as long as gateways may
  still sign with the old private key, the steps docs/operations.md gives.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from parentnet_kit import identity
from parentnet_kit.identity import Forbidden
from parentnet_kit.nameko_identity import Identity
from parentnet_kit.tokens import generate_key_pair

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("members", "events", "listings", "moderation", "conversations")


def _provider(config: dict, service: str = "members") -> Identity:
    provider = Identity()
    provider.container = SimpleNamespace(config=config, service_name=service)
    return provider


def _config(monkeypatch, service: str, **env: str) -> dict:
    """services/<service>/config.yml as ``nameko run`` loads it with ``env`` set."""
    from nameko.cli.main import setup_yaml_parser

    setup_yaml_parser()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return yaml.safe_load((ROOT / "services" / service / "config.yml").read_text())


def _acts(provider: Identity, token: str | None, member: str) -> str:
    worker = SimpleNamespace(data={} if token is None else {identity.HEADER: token})
    return provider.get_dependency(worker).acting_as(member)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("value", ["", "enabled", "required", "y", "2", "nein"])
def test_a_required_setting_nobody_can_read_refuses_to_start(monkeypatch, service, value):
    public = generate_key_pair()[1].decode()
    config = _config(monkeypatch, service, INTERNAL_IDENTITY_REQUIRED=value, INTERNAL_IDENTITY_PUBLIC_KEY=public)
    with pytest.raises(RuntimeError) as refused:
        _provider(config, service).setup()
    message = str(refused.value)
    assert "INTERNAL_IDENTITY_REQUIRED" in message
    assert "true/false/1/0/yes/no/on/off" in message


@pytest.mark.parametrize(
    ("value", "required"),
    [
        ("true", True),
        ("True ", True),
        ("1", True),
        ("YES", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("Off", False),
    ],
)
def test_each_accepted_word_reads_as_its_meaning(monkeypatch, value, required):
    public = generate_key_pair()[1].decode()
    config = _config(monkeypatch, "members", INTERNAL_IDENTITY_REQUIRED=value, INTERNAL_IDENTITY_PUBLIC_KEY=public)
    provider = _provider(config)
    provider.setup()
    assert provider.required is required
    if required:
        with pytest.raises(Forbidden):
            _acts(provider, None, "m1")
    else:
        assert _acts(provider, None, "m1") == "m1"


def test_unset_the_setting_is_required_by_config_yml(monkeypatch):
    monkeypatch.delenv("INTERNAL_IDENTITY_REQUIRED", raising=False)
    public = generate_key_pair()[1].decode()
    provider = _provider(_config(monkeypatch, "members", INTERNAL_IDENTITY_PUBLIC_KEY=public))
    provider.setup()
    assert provider.required is True


def test_required_without_a_public_key_refuses_to_start(monkeypatch):
    monkeypatch.delenv("INTERNAL_IDENTITY_REQUIRED", raising=False)
    with pytest.raises(RuntimeError, match="INTERNAL_IDENTITY_PUBLIC_KEY"):
        _provider(_config(monkeypatch, "members")).setup()


def test_turning_required_off_does_not_let_a_token_from_another_key_through():
    """Why REQUIRED=false never was a rotation: a token that fails is refused either way."""
    _, old_public = generate_key_pair()
    new_private, _ = generate_key_pair()
    service = _provider({"INTERNAL_IDENTITY_PUBLIC_KEY": old_public.decode(), "INTERNAL_IDENTITY_REQUIRED": False})
    service.setup()
    with pytest.raises(Forbidden):
        _acts(service, identity.IdentitySigner(new_private).token("m1", "members"), "m1")


def test_the_documented_key_rotation_keeps_members_working(tmp_path):
    """docs/operations.md's steps, with files as deployed: (1) services get the new public key
    and keep the old one as the previous key; (2) gateways move to the new private key one by
    one; (3) once no gateway signs with the old key, the previous key is dropped. Required
    stays on throughout; at every step both gateways' members act, and nobody else does."""
    old_private, old_public = generate_key_pair()
    new_private, new_public = generate_key_pair()
    (tmp_path / "old.pem").write_bytes(old_public)
    (tmp_path / "new.pem").write_bytes(new_public)
    old_gateway, new_gateway = identity.IdentitySigner(old_private), identity.IdentitySigner(new_private)
    forger = identity.IdentitySigner(generate_key_pair()[0])

    before = _provider(
        {"INTERNAL_IDENTITY_PUBLIC_KEY_FILE": str(tmp_path / "old.pem"), "INTERNAL_IDENTITY_REQUIRED": True}
    )
    before.setup()
    assert _acts(before, old_gateway.token("m1", "members"), "m1") == "m1"

    # Step 1: both keys on every service, before any gateway signs with the new one.
    during = _provider(
        {
            "INTERNAL_IDENTITY_PUBLIC_KEY_FILE": str(tmp_path / "new.pem"),
            "INTERNAL_IDENTITY_PREVIOUS_PUBLIC_KEY_FILE": str(tmp_path / "old.pem"),
            "INTERNAL_IDENTITY_REQUIRED": "true",
        }
    )
    during.setup()
    # Step 2: old and new gateways side by side.
    assert _acts(during, old_gateway.token("m1", "members"), "m1") == "m1"
    assert _acts(during, new_gateway.token("m2", "members"), "m2") == "m2"
    for token in (forger.token("m1", "members"), new_gateway.token("m1", "events"), None):
        with pytest.raises(Forbidden):
            _acts(during, token, "m1")
    with pytest.raises(Forbidden):
        _acts(during, new_gateway.token("m2", "members"), "m1")

    # Step 3: the previous key dropped; the old private key signs for nobody any more.
    after = _provider(
        {"INTERNAL_IDENTITY_PUBLIC_KEY_FILE": str(tmp_path / "new.pem"), "INTERNAL_IDENTITY_REQUIRED": True}
    )
    after.setup()
    assert _acts(after, new_gateway.token("m1", "members"), "m1") == "m1"
    with pytest.raises(Forbidden):
        _acts(after, old_gateway.token("m1", "members"), "m1")


def test_a_token_without_a_kid_is_tried_with_each_key_and_an_unknown_kid_is_refused():
    import time

    import jwt
    from cryptography.hazmat.primitives import serialization

    old_private, old_public = generate_key_pair()
    _, new_public = generate_key_pair()
    verifier = identity.IdentityVerifier(new_public, old_public)
    now = int(time.time())
    claims = {"iss": identity.ISSUER, "aud": "members", "sub": "m1", "iat": now, "exp": now + 60}
    old_key = serialization.load_pem_private_key(old_private, password=None)
    assert verifier.verify(jwt.encode(claims, old_key, algorithm=identity.ALGORITHM), "members") == "m1"
    with pytest.raises(identity.InvalidIdentity, match="kid"):
        verifier.verify(jwt.encode(claims, old_key, algorithm=identity.ALGORITHM, headers={"kid": "0" * 16}), "members")
    stranger = serialization.load_pem_private_key(generate_key_pair()[0], password=None)
    with pytest.raises(identity.InvalidIdentity):
        verifier.verify(jwt.encode(claims, stranger, algorithm=identity.ALGORITHM), "members")


def test_a_relayed_token_is_read_as_its_member_for_reads_about_her():
    """members.viewer_context asked by events while it serves m1's request carries m1's token
    for events: ``reading_about`` takes it as m1's (``SELF``), another member as ``OTHER``; no
    token while required, or a forged one, is refused."""
    private, public = generate_key_pair()
    gateway = identity.IdentitySigner(private)
    members = _provider({"INTERNAL_IDENTITY_PUBLIC_KEY": public.decode(), "INTERNAL_IDENTITY_REQUIRED": True})
    members.setup()

    def about(token: str | None, member: str) -> str:
        worker = SimpleNamespace(data={} if token is None else {identity.HEADER: token})
        return members.get_dependency(worker).reading_about(member)

    assert about(gateway.token("m1", "events"), "m1") == identity.SELF
    assert about(gateway.token("m1", "members"), "m1") == identity.SELF
    assert about(gateway.token("m1", "events"), "m2") == identity.OTHER
    for token in (None, "", identity.IdentitySigner(generate_key_pair()[0]).token("m1", "events")):
        with pytest.raises(Forbidden):
            about(token, "m1")
    with pytest.raises(Forbidden):
        about(identity.IdentitySigner(private).token("m1", "events", now=0), "m1")
    legacy = _provider({"INTERNAL_IDENTITY_PUBLIC_KEY": public.decode(), "INTERNAL_IDENTITY_REQUIRED": False})
    legacy.setup()
    assert legacy.get_dependency(SimpleNamespace(data={})).reading_about("m1") == identity.TRUSTED
