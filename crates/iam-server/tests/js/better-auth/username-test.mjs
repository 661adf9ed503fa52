// The username plugin through the real client's `usernameClient()`: sign-up with a username,
// availability, sign-in by username (any case), a wrong password's code, update-user.

import { createAuthClient } from "better-auth/client";
import { usernameClient } from "better-auth/client/plugins";
import { capture, check, cookiePair, origin, password, run, withCookies } from "./lib.mjs";

const client = createAuthClient({ baseURL: origin, basePath: "/api/v1/auth", plugins: [usernameClient()] });
const stamp = Date.now();
const email = `user.${stamp}@example.com`;
const username = `Ada_${stamp}`;

await run(async () => {
  const before = await client.isUsernameAvailable({ username }, { headers: { Origin: origin } });
  check("username: available before sign-up", before.data && before.data.available === true, before.error);

  const up = await client.signUp.email({ email, password, name: "Ada", username }, { headers: { Origin: origin } });
  check("username: sign-up stores it lower-cased", up.data && up.data.user.username === username.toLowerCase(), up.error || up.data);
  check("username: displayUsername keeps the typed form", up.data && up.data.user.displayUsername === username, up.data);

  const after = await client.isUsernameAvailable({ username: username.toUpperCase() }, { headers: { Origin: origin } });
  check("username: taken after sign-up (any case)", after.data && after.data.available === false, after.error);

  const short = await client.isUsernameAvailable({ username: "ab" }, { headers: { Origin: origin } });
  check("username: too short is 422", short.error && short.error.status === 422 && short.error.code === "USERNAME_TOO_SHORT", short.error);

  const signIn = capture();
  const inResult = await client.signIn.username({ username: username.toUpperCase(), password }, signIn.options);
  check("username: sign-in by username", inResult.data && inResult.data.user.email === email && typeof inResult.data.token === "string", inResult.error);
  const cookie = cookiePair(signIn.seen.cookies, "better-auth.session_token");
  check("username: sign-in sets the session cookie", Boolean(cookie), signIn.seen.cookies);

  const wrong = await client.signIn.username({ username, password: "not-the-password" }, { headers: { Origin: origin } });
  check("username: wrong password is 401", wrong.error && wrong.error.status === 401 && wrong.error.code === "INVALID_USERNAME_OR_PASSWORD", wrong.error);

  const renamed = `${username}_2`;
  const update = await client.updateUser({ username: renamed, displayUsername: "Ada L." }, withCookies(cookie));
  check("username: update-user renames", update.data && update.data.status === true, update.error);
  const session = await client.getSession({ fetchOptions: withCookies(cookie) });
  check("username: get-session shows the new name", session.data && session.data.user.username === renamed.toLowerCase() && session.data.user.displayUsername === "Ada L.", session.data);

  const again = await client.signIn.username({ username: renamed, password }, { headers: { Origin: origin } });
  check("username: the new name signs in", again.data && again.data.user.email === email, again.error);
});
