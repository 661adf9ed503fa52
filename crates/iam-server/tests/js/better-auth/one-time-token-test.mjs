// The one-time-token plugin through the real client's `oneTimeTokenClient()`: a signed-in
// client generates a token, a second client (no cookies) exchanges it for the same session,
// and a second exchange fails.

import { createAuthClient } from "better-auth/client";
import { oneTimeTokenClient } from "better-auth/client/plugins";
import { capture, check, cookiePair, origin, password, run, withCookies } from "./lib.mjs";

const client = createAuthClient({ baseURL: origin, basePath: "/api/v1/auth", plugins: [oneTimeTokenClient()] });
const email = `ott.${Date.now()}@example.com`;

await run(async () => {
  const up = capture();
  const signed = await client.signUp.email({ email, password, name: "OTT" }, up.options);
  const cookie = cookiePair(up.seen.cookies, "better-auth.session_token");
  const generated = await client.oneTimeToken.generate({ fetchOptions: withCookies(cookie) });
  check("ott: generate", generated.data && typeof generated.data.token === "string", generated.error);
  const other = capture();
  const verified = await client.oneTimeToken.verify({ token: generated.data.token }, other.options);
  check("ott: verify gives the same session", verified.data && verified.data.session.token === signed.data.token && verified.data.user.email === email, verified.error || verified.data);
  check("ott: verify sets the session cookie", Boolean(cookiePair(other.seen.cookies, "better-auth.session_token")), other.seen.cookies);
  const again = await client.oneTimeToken.verify({ token: generated.data.token }, { headers: { Origin: origin } });
  check("ott: a token works once", again.error && again.error.status === 400 && again.error.message === "Invalid token", again.error);
});
