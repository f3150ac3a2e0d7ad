"""Parentnet conversations: group discussions, ask nearby, messages."""
