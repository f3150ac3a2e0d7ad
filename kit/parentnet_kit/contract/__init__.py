"""What passes between Parentnet's processes, written down once: each service's RPC methods as a
typed client (``contract.rpc``) and every event type with its payload schema (``contract.events``).

``contract.snapshot`` writes and compares the checked-in ``snapshot.json``: a change to either
must be additive (kit/README.md, "Contracts").
"""
