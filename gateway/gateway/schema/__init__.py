"""The GraphQL schema as sibling modules over one base.

``base`` holds what every part shares (Node, user errors, connections, page arguments, checks,
the viewer, the one way to write a mutation); each other module is one bounded context and
imports only ``base`` and the gateway's infrastructure, naming another context's types lazily by
their import path (``"gateway.schema.members.Member"``). ``assemble`` alone imports them all and
builds ``schema``. Importing this package runs nothing, so infrastructure (``cursors``) may
import ``base`` without building the schema.
"""
