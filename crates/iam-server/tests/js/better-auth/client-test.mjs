// Drives the Rust auth API with the real better-auth client (`createAuthClient` from
// `better-auth/client`), as a front end would. Run by crates/iam-server/tests/better_auth_client.rs
// with AUTH_ORIGIN=http://127.0.0.1:<port> (the server's origin, also its trusted origin).
//
// Node has no cookie jar, so two flows are exercised: the bearer plugin's (read `set-auth-token`,
// send `Authorization: Bearer`) and cookies carried by hand (read `Set-Cookie`, send `Cookie`
// with an `Origin`, as a browser would). Node's fetch sends `Sec-Fetch-Mode: cors`, so sign-in and
// sign-up send `Origin` too (login-CSRF rule). Every check is recorded; the last stdout line is a
// JSON report `{checks: [{name, ok, detail}], failed}`; the exit code is 0 only if all passed.

import { createAuthClient } from "better-auth/client";
import { apiKeyClient } from "@better-auth/api-key/client";

const origin = process.env.AUTH_ORIGIN;
if (!origin) {
  console.error("AUTH_ORIGIN is not set");
  process.exit(2);
}

const checks = [];
function check(name, ok, detail) {
  checks.push({ name, ok: Boolean(ok), detail: detail === undefined ? null : detail });
}

const client = createAuthClient({ baseURL: origin, basePath: "/api/v1/auth" });
const originHeader = { headers: { Origin: origin } };

function bearer(token) {
  return { headers: { Authorization: `Bearer ${token}` } };
}

// Captures response headers of one call (set-auth-token, Set-Cookie).
function capture() {
  const seen = { authToken: null, cookies: [] };
  return {
    seen,
    options: {
      headers: { Origin: origin },
      onResponse(ctx) {
        seen.authToken = ctx.response.headers.get("set-auth-token");
        seen.cookies = ctx.response.headers.getSetCookie ? ctx.response.headers.getSetCookie() : [];
      },
    },
  };
}

function cookiePair(setCookies, name) {
  const line = setCookies.find((c) => c.startsWith(`${name}=`));
  return line ? line.split(";")[0] : null;
}

const email = `ada.${Date.now()}@example.com`;
const password = "correct-horse-battery";

async function main() {
  // ok
  const ok = await client.$fetch("/ok", { method: "GET" });
  check("ok", ok.data && ok.data.ok === true, ok.error);

  // Sign up (bearer flow: the token comes back in set-auth-token).
  const signUp = capture();
  const up = await client.signUp.email({ email, password, name: "Ada Lovelace" }, signUp.options);
  check("sign-up returns the user", up.data && up.data.user && up.data.user.email === email, up.error);
  check("sign-up returns a token", up.data && typeof up.data.token === "string" && up.data.token.length === 32);
  check("sign-up user dates are Dates", up.data && up.data.user.createdAt instanceof Date);
  check("sign-up sets set-auth-token", typeof signUp.seen.authToken === "string" && signUp.seen.authToken.startsWith(up.data?.token + "."), signUp.seen.authToken);
  const sessionCookie = cookiePair(signUp.seen.cookies, "better-auth.session_token");
  check("sign-up sets the session cookie", Boolean(sessionCookie), signUp.seen.cookies);

  // Get session: bearer (signed and raw) and cookie.
  const byBearer = await client.getSession({ fetchOptions: bearer(signUp.seen.authToken) });
  check("get-session by bearer", byBearer.data && byBearer.data.user.email === email, byBearer.error);
  check("session expiresAt is a Date in the future", byBearer.data && byBearer.data.session.expiresAt instanceof Date && byBearer.data.session.expiresAt > new Date());
  check("session has an active organization", byBearer.data && typeof byBearer.data.session.activeOrganizationId === "string");
  const byRaw = await client.getSession({ fetchOptions: bearer(up.data.token) });
  check("get-session by raw bearer token", byRaw.data && byRaw.data.session.token === up.data.token, byRaw.error);
  const byCookie = await client.getSession({ fetchOptions: { headers: { Cookie: sessionCookie } } });
  check("get-session by cookie", byCookie.data && byCookie.data.user.email === email, byCookie.error);
  const anonymous = await client.getSession();
  check("get-session without credentials is null", anonymous.data === null && anonymous.error === null, anonymous);

  // Update the user (bearer) and read it back.
  const updated = await client.updateUser({ name: "Ada King" }, bearer(up.data.token));
  check("update-user", updated.data && updated.data.status === true, updated.error);
  const afterUpdate = await client.getSession({ fetchOptions: bearer(up.data.token) });
  check("update-user is visible", afterUpdate.data && afterUpdate.data.user.name === "Ada King");

  // Sign out with the cookie (carried by hand, with an Origin as a browser sends it).
  const signOut = capture();
  signOut.options.headers.Cookie = sessionCookie;
  const out = await client.signOut({ fetchOptions: signOut.options });
  check("sign-out", out.data && out.data.success === true, out.error);
  check("sign-out expires the cookie", signOut.seen.cookies.some((c) => c.startsWith("better-auth.session_token=;") && c.includes("Max-Age=0")), signOut.seen.cookies);
  const afterOut = await client.getSession({ fetchOptions: { headers: { Cookie: sessionCookie } } });
  check("signed out session is gone", afterOut.data === null, afterOut);

  // A cookie-authenticated state change without Origin is refused (CSRF).
  const noOrigin = await client.signOut({ fetchOptions: { headers: { Cookie: sessionCookie } } });
  check("cookie POST without Origin is refused", noOrigin.error && noOrigin.error.status === 403 && noOrigin.error.code === "MISSING_OR_NULL_ORIGIN", noOrigin.error);

  // Wrong password, then the right one.
  const wrong = await client.signIn.email({ email, password: "wrong-password" }, originHeader);
  check("wrong password is 401", wrong.error && wrong.error.status === 401, wrong.error);
  check("wrong password code", wrong.error && wrong.error.code === "INVALID_EMAIL_OR_PASSWORD", wrong.error);
  check("wrong password message", wrong.error && wrong.error.message === "Invalid email or password", wrong.error);
  const noOriginLogin = await client.signIn.email({ email, password });
  check("sign-in without Origin from Node is refused", noOriginLogin.error && noOriginLogin.error.status === 403, noOriginLogin.error);

  const first = capture();
  const inOne = await client.signIn.email({ email, password }, first.options);
  check("sign-in", inOne.data && inOne.data.token && inOne.data.redirect === false, inOne.error);
  check("sign-in sets set-auth-token", typeof first.seen.authToken === "string", first.seen);
  const inTwo = await client.signIn.email({ email, password }, originHeader);
  const inThree = await client.signIn.email({ email, password, rememberMe: false }, originHeader);
  check("more sign-ins", inTwo.data && inThree.data, [inTwo.error, inThree.error]);

  // Duplicate sign-up.
  const dup = await client.signUp.email({ email: email.toUpperCase(), password, name: "Dup" }, originHeader);
  check("duplicate sign-up is 422", dup.error && dup.error.status === 422 && dup.error.code === "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", dup.error);

  // Sessions: list, revoke others, revoke all.
  const auth = bearer(first.seen.authToken);
  const listed = await client.listSessions({ fetchOptions: auth });
  check("list-sessions", Array.isArray(listed.data) && listed.data.length === 3, listed.data ? listed.data.length : listed.error);
  const revokeOne = await client.revokeSession({ token: inThree.data.token }, auth);
  check("revoke-session", revokeOne.data && revokeOne.data.status === true, revokeOne.error);
  const others = await client.revokeOtherSessions({ fetchOptions: auth });
  check("revoke-other-sessions", others.data && others.data.status === true, others.error);
  const remaining = await client.listSessions({ fetchOptions: auth });
  check("only the current session remains", Array.isArray(remaining.data) && remaining.data.length === 1 && remaining.data[0].token === inOne.data.token, remaining.data);
  const gone = await client.getSession({ fetchOptions: bearer(inTwo.data.token) });
  check("revoked session reads as null", gone.data === null, gone);

  // Change password, then sign in with the new one.
  const changed = await client.changePassword({ currentPassword: password, newPassword: "new-password-123", revokeOtherSessions: true }, auth);
  check("change-password", changed.data && typeof changed.data.token === "string", changed.error);
  const oldPassword = await client.signIn.email({ email, password }, originHeader);
  check("old password no longer works", oldPassword.error && oldPassword.error.status === 401, oldPassword.error);
  const newPassword = await client.signIn.email({ email, password: "new-password-123" }, originHeader);
  check("new password works", newPassword.data && newPassword.data.token, newPassword.error);

  const all = await client.revokeSessions({ fetchOptions: bearer(newPassword.data.token) });
  check("revoke-sessions", all.data && all.data.status === true, all.error);
  const afterAll = await client.getSession({ fetchOptions: bearer(newPassword.data.token) });
  check("no session after revoke-sessions", afterAll.data === null, afterAll);

  // Unauthenticated calls surface better-auth's error.
  const unauth = await client.listSessions();
  check("list-sessions without a session is 401", unauth.error && unauth.error.status === 401 && unauth.error.code === "UNAUTHORIZED", unauth.error);

  // ------------------------------------------------------------------------------------------
  // API keys (better-auth-api.md §8) with the real apiKeyClient(): create, list, use with
  // x-api-key on get-session, delete.
  // ------------------------------------------------------------------------------------------
  const keyClient = createAuthClient({ baseURL: origin, basePath: "/api/v1/auth", plugins: [apiKeyClient()] });
  const keyOwner = await client.signIn.email({ email, password: "new-password-123" }, originHeader);
  check("api-key: sign in again", keyOwner.data && keyOwner.data.token, keyOwner.error);
  const ownerAuth = bearer(keyOwner.data?.token);
  const createdKey = await keyClient.apiKey.create({ name: "ci-key", prefix: "ba_" }, ownerAuth);
  check("api-key: create returns the plain key once", createdKey.data && typeof createdKey.data.key === "string" && createdKey.data.key.startsWith("ba_") && createdKey.data.key.length === 67, createdKey.error);
  check("api-key: create returns the ApiKey object", createdKey.data && createdKey.data.name === "ci-key" && createdKey.data.start === createdKey.data.key.slice(0, 6) && createdKey.data.enabled === true && createdKey.data.createdAt instanceof Date, createdKey.data);
  const listedKeys = await keyClient.apiKey.list({ fetchOptions: ownerAuth });
  check("api-key: list", listedKeys.data && listedKeys.data.total === 1 && Array.isArray(listedKeys.data.apiKeys) && listedKeys.data.apiKeys[0].id === createdKey.data?.id && listedKeys.data.apiKeys[0].key === undefined, listedKeys.data || listedKeys.error);
  const byKey = await client.getSession({ fetchOptions: { headers: { "x-api-key": createdKey.data?.key } } });
  check("api-key: x-api-key on get-session", byKey.data && byKey.data.user.email === email && byKey.data.session.id === createdKey.data?.id, byKey.data || byKey.error);
  const shortKey = await client.getSession({ fetchOptions: { headers: { "x-api-key": "too-short" } } });
  check("api-key: a short key is 403 INVALID_API_KEY", shortKey.error && shortKey.error.status === 403 && shortKey.error.code === "INVALID_API_KEY", shortKey.error);
  const deletedKey = await keyClient.apiKey.delete({ keyId: createdKey.data?.id }, ownerAuth);
  check("api-key: delete", deletedKey.data && deletedKey.data.success === true, deletedKey.error);
  const afterDelete = await client.getSession({ fetchOptions: { headers: { "x-api-key": createdKey.data?.key } } });
  check("api-key: a deleted key is 401 INVALID_API_KEY", afterDelete.error && afterDelete.error.status === 401 && afterDelete.error.code === "INVALID_API_KEY", afterDelete.error);
}

try {
  await main();
} catch (error) {
  check("no exception", false, String(error && error.stack ? error.stack : error));
}
const failed = checks.filter((c) => !c.ok).map((c) => c.name);
console.log(JSON.stringify({ checks, failed }));
process.exit(failed.length === 0 ? 0 : 1);
