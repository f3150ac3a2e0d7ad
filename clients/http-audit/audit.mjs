// The graphql-http package's server audit (the GraphQL-over-HTTP spec's MUSTs, SHOULDs and
// MAYs) against a live gateway. Prints one JSON line: {ok, warn, error, failures}; exit 1 on
// any error or warning (a MAY the gateway does not do is a "notice" and counts as neither).
import { auditServer } from "graphql-http";

const url = `${process.env.GATEWAY_URL}/graphql`;
const results = await auditServer({ url });
const count = (status) => results.filter((r) => r.status === status).length;
const failures = results
  .filter((r) => r.status === "warn" || r.status === "error")
  .map((r) => ({ id: r.id, name: r.name, status: r.status, reason: r.reason }));
const notices = results.filter((r) => r.status === "notice").map((r) => r.name);
const summary = {
  ok: count("ok"),
  notice: count("notice"),
  warn: count("warn"),
  error: count("error"),
  failures,
  notices,
};
process.stdout.write(JSON.stringify(summary) + "\n");
process.exit(failures.length ? 1 : 0);
