"""The gateway: one GraphQL API over Parentnet's services. It owns no data."""
