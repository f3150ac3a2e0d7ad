// Adds a picture with Apollo Client's upload link (apollo-upload-client: the GraphQL multipart
// request spec), as a web or React Native app would, with the preflight header the gateway
// requires of multipart requests. Input (environment): GATEWAY_URL, TOKEN, SUBJECT_ID, FILE (a
// path). Output: one JSON line on stdout, {"errors": [...], "data": ...}.
import { readFileSync } from "node:fs";
import { basename } from "node:path";

import { ApolloClient, InMemoryCache, gql } from "@apollo/client/core/index.js";
import createUploadLink from "apollo-upload-client/createUploadLink.mjs";

const client = new ApolloClient({
  link: createUploadLink({
    uri: process.env.GATEWAY_URL + "/graphql",
    headers: { authorization: `Bearer ${process.env.TOKEN}`, "Apollo-Require-Preflight": "true" },
  }),
  cache: new InMemoryCache(),
});

const ADD = gql`
  mutation AddPicture($input: PictureAddInput!) {
    pictureAdd(input: $input) {
      picture { id width height variants { size url width height contentType } }
      userErrors { field message code }
    }
  }
`;

const file = new File([readFileSync(process.env.FILE)], basename(process.env.FILE), { type: "image/jpeg" });
const answer = await client.mutate({
  mutation: ADD,
  variables: { input: { subjectId: process.env.SUBJECT_ID, file } },
  errorPolicy: "all",
});
console.log(JSON.stringify({ errors: (answer.errors || []).map((e) => e.message), data: answer.data }));
