"""What the HTTP suites (tests/e2e, tests/privacy) share: talking GraphQL to an isolated stack."""
