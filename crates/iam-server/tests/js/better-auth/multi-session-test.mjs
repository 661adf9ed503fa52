// The multi-session plugin through the real client's `multiSessionClient()`: one browser (a
// cookie jar) signs up two accounts, lists them, switches to the first, revokes it (the second
// takes over), then signs out.

import { createAuthClient } from "better-auth/client";
import { multiSessionClient } from "better-auth/client/plugins";
import { check, Jar, origin, password, run } from "./lib.mjs";

const client = createAuthClient({ baseURL: origin, basePath: "/api/v1/auth", plugins: [multiSessionClient()] });
const stamp = Date.now();
const first = `multi.one.${stamp}@example.com`;
const second = `multi.two.${stamp}@example.com`;

await run(async () => {
  const jar = new Jar();
  const one = await client.signUp.email({ email: first, password, name: "One" }, jar.options());
  const two = await client.signUp.email({ email: second, password, name: "Two" }, jar.options());
  check("multi-session: two accounts signed up", one.data && two.data, one.error || two.error);
  check("multi-session: one cookie per account", jar.names().filter((n) => n.includes("_multi-")).length === 2, jar.names());

  const list = await client.multiSession.listDeviceSessions({ fetchOptions: jar.options() });
  const emails = (list.data || []).map((entry) => entry.user.email).sort();
  check("multi-session: list-device-sessions", emails.length === 2 && emails.includes(first) && emails.includes(second), list.error || list.data);

  const active = await client.multiSession.setActive({ sessionToken: one.data.token }, jar.options());
  check("multi-session: set-active", active.data && active.data.user.email === first, active.error || active.data);
  const now = await client.getSession({ fetchOptions: jar.options() });
  check("multi-session: the session is the first account's", now.data && now.data.user.email === first, now.data);

  const bad = await client.multiSession.setActive({ sessionToken: "not-a-token" }, jar.options());
  check("multi-session: an unknown token is 401", bad.error && bad.error.status === 401 && bad.error.code === "INVALID_SESSION_TOKEN", bad.error);

  const revoked = await client.multiSession.revoke({ sessionToken: one.data.token }, jar.options());
  check("multi-session: revoke", revoked.data && revoked.data.status === true, revoked.error);
  const after = await client.getSession({ fetchOptions: jar.options() });
  check("multi-session: the other account takes over", after.data && after.data.user.email === second, after.data);

  const out = await client.signOut({ fetchOptions: jar.options() });
  check("multi-session: sign-out", out.data && out.data.success === true, out.error);
  const none = await client.multiSession.listDeviceSessions({ fetchOptions: jar.options() });
  check("multi-session: nothing left after sign-out", Array.isArray(none.data) && none.data.length === 0, none.data);
});
