// The gateway's GraphQL explorer: GraphiQL, talking to the gateway it is served by
// (HTTP for queries and mutations, graphql-transport-ws for subscriptions).
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import React from "react";
import { createRoot } from "react-dom/client";
import "graphiql/graphiql.css";

const here = new URL(window.location.href);
const endpoint = `${here.origin}/graphql`;
const fetcher = createGraphiQLFetcher({
  url: endpoint,
  subscriptionUrl: endpoint.replace(/^http/, "ws"),
});

const welcome = `# Parentnet's GraphQL API. Sign in with memberLogin, then put
#   {"Authorization": "Bearer <accessToken>"}
# in the headers below. The docs/ folder has the queries behind the main screens.
{
  cities { slug name timeZone }
}
`;

createRoot(document.getElementById("explorer")).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: here.searchParams.get("q") || welcome,
    defaultEditorToolsVisibility: true,
  }),
);
