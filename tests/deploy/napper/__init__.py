"""A service whose one RPC takes as long as it is asked to: the drain test's subject."""
