"""Moderation in the schema: reporting, the moderators' queues, their actions and the audit log.

The moderation service keeps reports, decisions and roles. This module reads what was reported
*as the reporter sees it* (so nobody reports what they cannot see, and a report keeps the text,
author, group and city, never a location), and tells the service whether the caller is a
network admin (members knows). Group roles are the moderation service's own copy of members'
events, never the caller's word.
"""

from __future__ import annotations

import logging
from typing import Any

import graphene

from parentnet_kit.i18n import t

from .. import ids
from ..context import context_of
from .base import (
    NODE_LOADERS,
    NODE_TYPES,
    InputMutation,
    Node,
    connection_type,
    edge_type,
    enum,
    global_id_resolver,
    group_of,
    local_id,
    member_of,
    member_resolver,
    moderation_of,
    network_admin,
    require_viewer,
    time_resolver,
    user_errors,
    user_errors_field,
)

log = logging.getLogger(__name__)

# GraphQL type of a global id (the node type's name) -> the moderation service's subject type.
SUBJECT_TYPES = {
    "Outing": "outing",
    "Listing": "listing",
    "Contact": "contact",
    "Member": "member",
    "DiscussionThread": "thread",
    "DiscussionReply": "reply",
    "Question": "question",
    "Answer": "answer",
    "Message": "message",
}
# The moderation service's subject type -> the node type its global id names.
NODE_TYPE_OF = {value: name for name, value in SUBJECT_TYPES.items()}
# Conversation subjects: the conversations service says what the reporter sees of them
# (``snapshot(subject_type, subject_id, reporter_id)``; a message only to one of its two members).
CONVERSATION_TYPES = ("thread", "reply", "question", "answer", "message")

ReportReason = enum(
    "ReportReason",
    "Why something is reported.",
    [
        ("SPAM", "spam", "Advertising, repeated or unrelated posts."),
        ("HARASSMENT", "harassment", "Bullying, threats or unwanted contact."),
        ("HATE", "hate", "Hatred against people for who they are."),
        ("VIOLENCE", "violence", "Violence, or calls to it."),
        ("SEXUAL", "sexual", "Sexual content."),
        ("CHILD_SAFETY", "child_safety", "Anything that puts a child at risk."),
        ("PRIVACY", "privacy", "Someone's address, whereabouts or other private details shared."),
        ("SCAM", "scam", "Fraud: a fake listing, a request for money."),
        ("MISLEADING", "misleading", "False or misleading information."),
        ("OTHER", "other", "Something else: say what in the note."),
        ("HELD_FOR_REVIEW", "held_for_review", "Filed by the network itself: several members reported this member."),
    ],
)
ReportSubjectType = enum(
    "ReportSubjectType",
    "What kind of thing a report is about.",
    [(value.upper(), value, f"A {value}.") for value in SUBJECT_TYPES.values()],
)
ReportStatus = enum(
    "ReportStatus",
    "Where a report is.",
    [("OPEN", "open", "Waiting for a moderator."), ("RESOLVED", "resolved", "A moderator decided.")],
)
ModerationActionType = enum(
    "ModerationActionType",
    "What a moderator does.",
    [
        ("HIDE", "hide", "Hide the content from everyone but its author (it can be restored)."),
        ("REMOVE", "remove", "Remove the content for good from every list, search result and feed."),
        ("RESTORE", "restore", "Show hidden or removed content again."),
        ("DISMISS", "dismiss", "Close the report and leave the content as it is."),
        ("WARN", "warn", "Warn the author (they are told why)."),
        ("SUSPEND", "suspend", "Suspend the author until a time: they cannot post or propose. Network moderators."),
        ("UNSUSPEND", "unsuspend", "Lift a suspension. Network moderators."),
        ("RELEASE", "release", "Release a member held for review after several reports. Network moderators."),
    ],
)


class ReportSnapshot(graphene.ObjectType):
    """What was reported, as the reporter saw it when they reported it (kept even if it changes)."""

    title = graphene.String(required=True, description="Its title or name; may be empty.")
    text = graphene.String(required=True, description="Its text, as written; may be empty.")
    author = graphene.Field(
        "gateway.schema.members.Member", description="Who wrote or posted it; null if gone or hidden from you."
    )
    group = graphene.Field("gateway.schema.groups.Group", description="The group it was posted in, if any.")

    @staticmethod
    async def resolve_author(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        if not root.get("author_id"):
            return None
        return await member_of(info, root["author_id"])

    @staticmethod
    async def resolve_group(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        if not root.get("group_id"):
            return None
        return await group_of(info, root["group_id"])


class Report(graphene.ObjectType):
    """A report of something to the moderators, with a snapshot of it. Reporters are never shown."""

    class Meta:
        interfaces = (Node,)

    subject_type = graphene.Field(ReportSubjectType, required=True, description="What kind of thing it is about.")
    subject_id = graphene.ID(required=True, description="The global ID of what was reported.")
    reason = graphene.Field(ReportReason, required=True, description="Why it was reported.")
    note = graphene.String(required=True, description="The reporter's note; may be empty.")
    snapshot = graphene.Field(ReportSnapshot, required=True, description="What was reported, as it was.")
    status = graphene.Field(ReportStatus, required=True, description="Open, or resolved by a moderator.")
    outcome = graphene.Field(ModerationActionType, description="What the moderator did; null while open.")
    created_at = graphene.DateTime(required=True, description="When it was reported.")

    resolve_id = global_id_resolver("Report")

    @staticmethod
    def resolve_subject_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str:
        return ids.to_global_id(NODE_TYPE_OF[root["subject_type"]], root["subject_id"])

    resolve_created_at = time_resolver("created_at")


class ModerationAction(graphene.ObjectType):
    """One entry of the audit log: who did what to what, when and why."""

    id = graphene.ID(required=True, description="Opaque ID of the action.")
    action = graphene.Field(ModerationActionType, required=True, description="What was done.")
    actor = graphene.Field("gateway.schema.members.Member", description="The moderator who did it.")
    subject_type = graphene.Field(ReportSubjectType, description="What kind of thing it was done to, if content.")
    subject_id = graphene.ID(description="The global ID of the content acted on, if any.")
    member = graphene.Field("gateway.schema.members.Member", description="The member acted on (warn, suspend...).")
    report_id = graphene.ID(description="The report it answered, if any.")
    reason = graphene.String(required=True, description="Why, as the moderator wrote it.")
    until = graphene.DateTime(description="The end of a suspension (UTC).")
    at = graphene.DateTime(required=True, description="When it was done.")

    resolve_id = global_id_resolver("ModerationAction")

    resolve_actor = member_resolver("actor_id")

    @staticmethod
    async def resolve_member(root: dict[str, Any], info: graphene.ResolveInfo) -> dict[str, Any] | None:
        if not root.get("member_id"):
            return None
        return await member_of(info, root["member_id"])

    @staticmethod
    def resolve_subject_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str | None:
        if not root.get("subject_id") or not root.get("subject_type"):
            return None
        return ids.to_global_id(NODE_TYPE_OF[root["subject_type"]], root["subject_id"])

    @staticmethod
    def resolve_report_id(root: dict[str, Any], info: graphene.ResolveInfo) -> str | None:
        return ids.to_global_id("Report", root["report_id"]) if root.get("report_id") else None

    resolve_until = time_resolver("until")

    resolve_at = time_resolver("at")


ReportEdge = edge_type("ReportEdge", Report, "reports")
ReportConnection = connection_type("ReportConnection", ReportEdge, Report, "reports")
ModerationActionEdge = edge_type("ModerationActionEdge", ModerationAction, "moderation actions")
ModerationActionConnection = connection_type(
    "ModerationActionConnection", ModerationActionEdge, ModerationAction, "moderation actions"
)


async def snapshot_of(info: graphene.ResolveInfo, subject_type: str, subject_id: str) -> dict[str, Any] | None:
    """What the viewer sees of the subject, as a report keeps it (None: not there, or not theirs to
    see). Never a location: only text, title, author, group and city."""
    # Only what the reporter may see, as ``node(id)`` answers it: a thread of a private group the
    # reporter is not in is "nothing to report", not a report that says it exists.
    view = await NODE_LOADERS[NODE_TYPE_OF[subject_type]](info, subject_id)
    if view is None:
        return None
    if subject_type in CONVERSATION_TYPES:
        ctx = context_of(info)
        if ctx.viewer_id is None:
            return None
        seen = await ctx.conversations.snapshot(
            subject_type=subject_type, subject_id=subject_id, reporter_id=ctx.viewer_id
        )
        if seen is None:
            return None
        return {
            "title": "",
            "text": seen.get("text") or "",
            "author_id": seen.get("author_id"),
            "group_id": seen.get("group_id"),
            "city": seen.get("city"),
        }
    if subject_type == "outing":
        return {
            "title": view["title"],
            "text": view.get("description") or "",
            "author_id": view.get("organizer_id"),
            "group_id": view.get("group_id"),
            "city": view.get("city"),
        }
    if subject_type == "listing":
        return {
            "title": view["title"],
            "text": view.get("description") or "",
            "author_id": view.get("owner_id"),
            "city": view.get("city"),
        }
    if subject_type == "contact":
        return {
            "title": view["name"],
            "text": view.get("description") or "",
            "author_id": view.get("added_by"),
            "group_id": view.get("group_id"),
            "city": view.get("city"),
        }
    return {"title": view.get("display_name") or "", "text": "", "author_id": view["id"], "city": view.get("city")}


class ContentReportInput(graphene.InputObjectType):
    """What you report, and why."""

    subject_id = graphene.ID(
        required=True,
        description="The global ID of an outing, listing, contact, member, thread, reply, question, answer or message.",
    )
    reason = graphene.Field(ReportReason, required=True, description="Why.")
    note = graphene.String(description="What the moderators should know; at most 1,000 characters.")


class ContentReportPayload(graphene.ObjectType):
    """The report filed."""

    report = graphene.Field(Report, description="Your report; null when refused.")
    user_errors = user_errors_field()


class ContentReport(InputMutation, input=ContentReportInput, about="What and why.", output=ContentReportPayload):
    """Report something to the moderators (its group's, or the network's). You are told the outcome in
    your inbox. A few reports an hour at most."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        ctx = context_of(info)
        decoded = ids.from_global_id(input["subject_id"])
        subject_type = SUBJECT_TYPES.get(decoded[0]) if decoded else None
        if decoded is None or subject_type is None:
            errors = [{"field": ["subject_id"], "message": t("This cannot be reported."), "code": "INVALID"}]
            return {"report": None, "user_errors": user_errors(errors, ("input",))}
        snapshot = await snapshot_of(info, subject_type, decoded[1])
        fields = {
            "subject_type": subject_type,
            "subject_id": decoded[1],
            "reason": input["reason"],
            "note": input.get("note") or "",
        }
        moderation = moderation_of(ctx).using(headers=ctx.once(info))
        result = await moderation.report(reporter_id=viewer, fields=fields, snapshot=snapshot)
        return {"report": result["report"], "user_errors": user_errors(result["errors"], ("input",))}


class ModerationActInput(graphene.InputObjectType):
    """What to act on (a report; or, to restore or unsuspend, the content or the member), what to do, why."""

    report_id = graphene.ID(description="The report acted on (hide, remove, dismiss, warn, suspend).")
    subject_id = graphene.ID(description="Content acted on before, without a report (restore).")
    member_id = graphene.ID(description="A member, without a report (warn, suspend, unsuspend, release).")
    action = graphene.Field(ModerationActionType, required=True, description="What to do.")
    reason = graphene.String(required=True, description="Why: kept in the audit log; at most 500 characters.")
    until = graphene.DateTime(description="SUSPEND only: until when, with its offset; at most a year away.")


class ModerationActPayload(graphene.ObjectType):
    """The action done."""

    moderation_action = graphene.Field(ModerationAction, description="The action; null when refused.")
    user_errors = user_errors_field()


class ModerationAct(InputMutation, input=ModerationActInput, about="What, how and why.", output=ModerationActPayload):
    """Act as a moderator: a network moderator on anything, a group's admins and moderators on their
    group's queue (not on members' accounts). Every action goes into the audit log and the reporters
    are told the outcome."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        ctx = context_of(info)
        fields: dict[str, Any] = {"action": input["action"], "reason": input["reason"]}
        for name, type_names in (
            ("report_id", ("Report",)),
            ("subject_id", tuple(SUBJECT_TYPES)),
            ("member_id", ("Member",)),
        ):
            if input.get(name):
                decoded = ids.from_global_id(input[name])
                if decoded is None or decoded[0] not in type_names:
                    errors = [{"field": [name], "message": t("Not an ID of the right kind."), "code": "INVALID"}]
                    return {"moderation_action": None, "user_errors": user_errors(errors, ("input",))}
                fields[name] = decoded[1]
        if input.get("until") is not None:
            fields["until"] = input["until"].isoformat()
        admin = await network_admin(ctx, viewer)
        moderation = moderation_of(ctx).using(headers=ctx.once(info))
        result = await moderation.act(actor_id=viewer, fields=fields, network_admin=admin)
        return {"moderation_action": result["action"], "user_errors": user_errors(result["errors"], ("input",))}


class NetworkModeratorGrantInput(graphene.InputObjectType):
    """Who becomes a network moderator."""

    member_id = graphene.ID(required=True, description="The member's global ID.")


class NetworkModeratorGrantPayload(graphene.ObjectType):
    """Whether the role was granted."""

    granted = graphene.Boolean(required=True, description="True when the member was not one before.")
    user_errors = user_errors_field()


class NetworkModeratorGrant(
    InputMutation, input=NetworkModeratorGrantInput, about="Who.", output=NetworkModeratorGrantPayload
):
    """Make a member a network moderator (they work the network's queue). Network admins only."""

    @staticmethod
    async def mutate(root: None, info: graphene.ResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        viewer = require_viewer(info)
        ctx = context_of(info)
        member_id = local_id(input["member_id"], "Member")
        if member_id is None:
            errors = [{"field": ["member_id"], "message": t("Not a member's ID."), "code": "INVALID"}]
            return {"granted": False, "user_errors": user_errors(errors, ("input",))}
        admin = await network_admin(ctx, viewer)
        result = await moderation_of(ctx).grant_moderator(granter_id=viewer, member_id=member_id, network_admin=admin)
        return {"granted": result["granted"], "user_errors": user_errors(result["errors"], ("input",))}


class ModerationMutations(graphene.ObjectType):
    content_report = ContentReport.Field()
    moderation_act = ModerationAct.Field()
    network_moderator_grant = NetworkModeratorGrant.Field()


NODE_TYPES["Report"] = Report
