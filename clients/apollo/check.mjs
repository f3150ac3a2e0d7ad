// Runs every operation in docs/queries with Apollo Client against a live gateway, then proves a
// subscription delivers: it subscribes to notificationReceived over graphql-transport-ws, makes
// the organizer cancel an outing the listener joined, and waits for the message. Then, with
// Apollo Client's default options (errorPolicy "none": any error fails the call), registers,
// signs in and refreshes selecting accessTokenExpiresAt, and subscribes with bad input, which
// must end in an error within 2 s.
//
// Input (environment): GATEWAY_URL, LISTENER_TOKEN, ORGANIZER_TOKEN, CANCEL_OUTING_ID, and
// VARIABLES: a JSON object of variables per operation name. Output: one JSON line on stdout.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions/index.js";
import { Kind, parse, print } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const here = dirname(fileURLToPath(import.meta.url));
const docs = join(here, "..", "..", "docs", "queries");
const url = process.env.GATEWAY_URL + "/graphql";
const variables = JSON.parse(process.env.VARIABLES || "{}");
// How long a message may take on a loaded machine (CI: 2 cores); how fast is bench/'s.
const deadlineMs = 15000;

function httpClient(token) {
  return new ApolloClient({
    link: new HttpLink({ uri: url, headers: { authorization: `Bearer ${token}` } }),
    cache: new InMemoryCache(),
    defaultOptions: { query: { fetchPolicy: "no-cache", errorPolicy: "all" }, mutate: { errorPolicy: "all" } },
  });
}

function operations() {
  const found = [];
  for (const file of readdirSync(docs).filter((f) => f.endsWith(".graphql")).sort()) {
    const document = parse(readFileSync(join(docs, file), "utf8"));
    for (const definition of document.definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION) {
        found.push({ file, name: definition.name.value, type: definition.operation, text: print(definition) });
      }
    }
  }
  return found;
}

async function main() {
  const listener = httpClient(process.env.LISTENER_TOKEN);
  const organizer = httpClient(process.env.ORGANIZER_TOKEN);
  const results = {};
  for (const op of operations()) {
    if (op.type === "subscription") continue;
    const options = { variables: variables[op.name] || {} };
    const answer =
      op.type === "query"
        ? await listener.query({ query: gql(op.text), ...options })
        : await listener.mutate({ mutation: gql(op.text), ...options });
    results[op.name] = { errors: (answer.errors || []).map((e) => e.extensions?.code || e.message), data: answer.data };
  }

  const ws = createClient({
    url: url.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${process.env.LISTENER_TOKEN}` },
  });
  const overWs = new ApolloClient({ link: new GraphQLWsLink(ws), cache: new InMemoryCache() });
  const subscription = operations().find((op) => op.type === "subscription");
  const received = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no subscription message within ${deadlineMs} ms`)), deadlineMs);
    overWs.subscribe({ query: gql(subscription.text) }).subscribe({
      next: (message) => {
        clearTimeout(timer);
        resolve(message.data);
      },
      error: reject,
    });
  });
  // A query on the same socket is answered after the subscription above is registered.
  await overWs.query({ query: gql("query Barrier { cities { slug } }"), fetchPolicy: "no-cache" });
  const cancel = await organizer.mutate({
    mutation: gql("mutation Cancel($id: ID!) { outingCancel(input: {outingId: $id}) { userErrors { code } } }"),
    variables: { id: process.env.CANCEL_OUTING_ID },
  });
  results.Cancel = { errors: cancel.errors || [], data: cancel.data };
  results[subscription.name] = { data: await received };

  // Default options: a sign-in that answers any error would throw here.
  const plain = new ApolloClient({ link: new HttpLink({ uri: url }), cache: new InMemoryCache() });
  const payload = "accessToken accessTokenExpiresAt refreshToken member { id displayName } userErrors { code }";
  const email = `apollo-${Date.now()}@example.org`;
  const register = await plain.mutate({
    mutation: gql(`mutation R($i: MemberRegisterInput!) { memberRegister(input: $i) { ${payload} } }`),
    variables: { i: { email, password: "a long test password", displayName: "Apollo", city: "paris" } },
  });
  const login = await plain.mutate({
    mutation: gql(`mutation L($i: MemberLoginInput!) { memberLogin(input: $i) { ${payload} } }`),
    variables: { i: { email, password: "a long test password" } },
  });
  const refresh = await plain.mutate({
    mutation: gql(`mutation F($i: MemberTokenRefreshInput!) { memberTokenRefresh(input: $i) { ${payload} } }`),
    variables: { i: { refreshToken: login.data.memberLogin.refreshToken } },
  });
  results.SignIn = {
    expiresAt: [register.data.memberRegister, login.data.memberLogin, refresh.data.memberTokenRefresh].map(
      (p) => p.accessTokenExpiresAt,
    ),
  };

  const started = Date.now();
  results.BadSubscription = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ error: null, ms: Date.now() - started }), deadlineMs);
    overWs
      .subscribe({ query: gql("subscription { outingPublishedNearby(near: {lat: 123, lon: 2}, radiusKm: 5) { id } }") })
      .subscribe({
        next: () => {},
        error: (error) => {
          clearTimeout(timer);
          const codes = (error.graphQLErrors || error.errors || []).map((e) => e.extensions?.code);
          resolve({ error: String(error.message), codes, ms: Date.now() - started });
        },
      });
  });
  await ws.dispose();
  process.stdout.write(JSON.stringify(results) + "\n");
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});
