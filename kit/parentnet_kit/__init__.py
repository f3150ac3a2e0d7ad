"""Parentnet's shared kit: the only code services share besides event contracts."""
