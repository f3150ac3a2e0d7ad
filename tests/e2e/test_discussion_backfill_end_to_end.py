"""The discussions index rebuilt from the conversations service (issue 19): documents the
indexer lost come back from conversations' export, in a new revision, with who may see each."""

from __future__ import annotations

import uuid

import httpx
from conftest import run_backfill
from test_conversations_end_to_end import PUBLIC_GROUP, REPLY, private_group, start_thread, wait_for
from test_discussion_search_end_to_end import found, ids_of

from gateway.ids import from_global_id
from parentnet_kit import config


def test_the_backfill_brings_back_lost_discussions_from_conversations(stack, gql, sign_up):
    admin, member, outsider = sign_up("Admin"), sign_up("Member"), sign_up("Outsider")
    tag = uuid.uuid4().hex[:8]
    public = gql(PUBLIC_GROUP, token=admin["token"])["groupCreate"]["group"]["id"]
    thread = start_thread(gql, admin["token"], public, title=f"Vide-grenier {tag}")
    reply = gql(REPLY, {"t": thread["id"], "text": f"Vide-grenier dimanche {tag}"}, token=admin["token"])
    reply_id = reply["discussionReplyCreate"]["reply"]["id"]
    group = private_group(gql, admin, member)
    secret = start_thread(gql, admin["token"], group, title=f"Vide-grenier entre nous {tag}")
    made = {thread["id"], reply_id, secret["id"]}
    wait_for(lambda: set(ids_of(found(gql, member, f"grenier {tag}"))) == made, "all three in search")

    # Lost: the index no longer has them (a broken disk, a bad manual delete).
    prefix, es = stack.env["SEARCH_INDEX_PREFIX"], config.elasticsearch_url()
    alias = f"{prefix}discussions"
    local = [from_global_id(i)[1] for i in made]
    for doc_id in local:  # one by one: the local server has no reindex module (no _delete_by_query)
        httpx.delete(f"{es}/{alias}/_doc/{doc_id}", params={"refresh": "true"}).raise_for_status()
    assert found(gql, member, f"grenier {tag}")["totalCount"] == 0
    before = set(httpx.get(f"{es}/_alias/{alias}").json())

    run = run_backfill(stack, "--only", "discussions", "--page", "2")
    assert run.returncode == 0, run.stderr
    (old,) = before
    assert set(httpx.get(f"{es}/_alias/{alias}").json()) == {f"{alias}-v{int(old.rsplit('-v', 1)[1]) + 1}"}
    # Back, each for whom may see it: the private thread for the member, not the outsider.
    assert set(ids_of(found(gql, member, f"grenier {tag}"))) == made
    assert set(ids_of(found(gql, outsider, f"grenier {tag}"))) == {thread["id"], reply_id}
    # And the code's revision is there: --outdated has nothing to do.
    again = run_backfill(stack, "--outdated")
    assert again.returncode == 0 and "every index is at the code's revision" in again.stdout, again.stderr
