// The jwt plugin through the real client's `jwtClient()`: `client.token()` and the
// `set-auth-jwt` header of get-session give JWTs that jose (better-auth's own JWT library)
// verifies against `client.jwks()`, with the server's origin as issuer and audience.

import { createAuthClient } from "better-auth/client";
import { jwtClient } from "better-auth/client/plugins";
import { createLocalJWKSet, jwtVerify } from "jose";
import { capture, check, cookiePair, origin, password, run, withCookies } from "./lib.mjs";

const client = createAuthClient({ baseURL: origin, basePath: "/api/v1/auth", plugins: [jwtClient()] });
const email = `jwt.${Date.now()}@example.com`;

await run(async () => {
  const up = capture();
  const signed = await client.signUp.email({ email, password, name: "JWT" }, up.options);
  const cookie = cookiePair(up.seen.cookies, "better-auth.session_token");
  const jwks = await client.jwks();
  check("jwt: jwks", jwks.data && Array.isArray(jwks.data.keys) && jwks.data.keys.length >= 1 && jwks.data.keys[0].alg === "EdDSA", jwks.error || jwks.data);
  const keySet = createLocalJWKSet(jwks.data);

  const issued = await client.token({ fetchOptions: withCookies(cookie) });
  check("jwt: token", issued.data && typeof issued.data.token === "string", issued.error);
  const { payload } = await jwtVerify(issued.data.token, keySet, { issuer: origin, audience: origin });
  check("jwt: jose verifies the token", payload.sub === signed.data.user.id && payload.email === email, payload);

  let header = null;
  await client.getSession({ fetchOptions: { ...withCookies(cookie), onResponse(ctx) { header = ctx.response.headers.get("set-auth-jwt"); } } });
  check("jwt: get-session sets set-auth-jwt", typeof header === "string", header);
  const fromHeader = await jwtVerify(header, keySet, { issuer: origin, audience: origin });
  check("jwt: jose verifies the header's token", fromHeader.payload.sub === signed.data.user.id, fromHeader.payload);
  const anonymous = await client.token();
  check("jwt: no session, no token", anonymous.error && anonymous.error.status === 401, anonymous.error);
});
