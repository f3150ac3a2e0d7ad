"""Internal identity tokens: what the gateway signs and a service accepts."""

from __future__ import annotations

import time

import pytest

from parentnet_kit import identity
from parentnet_kit.tokens import generate_key_pair

PRIVATE, PUBLIC = generate_key_pair()


def test_a_token_names_the_member_for_one_service_only():
    token = identity.IdentitySigner(PRIVATE).token("m1", "events")
    verifier = identity.IdentityVerifier(PUBLIC)
    assert verifier.verify(token, "events") == "m1"
    with pytest.raises(identity.InvalidIdentity):
        verifier.verify(token, "listings")


def test_forged_expired_and_garbled_tokens_are_refused():
    verifier = identity.IdentityVerifier(PUBLIC)
    forged = identity.IdentitySigner(generate_key_pair()[0]).token("m1", "events")
    expired = identity.IdentitySigner(PRIVATE).token("m1", "events", now=time.time() - 3600)
    for token in (forged, expired, "not.a.token", "", None, 42):
        with pytest.raises(identity.InvalidIdentity):
            verifier.verify(token, "events")


def test_a_signer_reuses_a_fresh_token_and_makes_a_new_one_near_expiry():
    signer = identity.IdentitySigner(PRIVATE)
    now = time.time()
    first = signer.token("m1", "events", now=now)
    assert signer.token("m1", "events", now=now + 10) == first
    assert signer.token("m1", "events", now=now + 40) != first
    assert signer.token("m2", "events", now=now) != first


def test_a_viewer_acts_only_as_itself():
    assert identity.Viewer("m1", True, None, required=True).acting_as("m1") == "m1"
    refusals = [
        identity.Viewer("m1", True, None, required=False),  # another member
        identity.Viewer(None, True, "bad signature", required=False),  # a token that did not verify
        identity.Viewer(None, False, None, required=True),  # none where one is required
    ]
    for viewer in refusals:
        with pytest.raises(identity.Forbidden):
            viewer.acting_as("m2")
    # A previous gateway sends none: its word is taken while none is required.
    assert identity.Viewer(None, False, None, required=False).acting_as("m2") == "m2"
