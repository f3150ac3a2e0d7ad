"""services/members."""
