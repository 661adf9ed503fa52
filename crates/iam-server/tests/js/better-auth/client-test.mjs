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
import { organizationClient } from "better-auth/client/plugins";
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


// ---------------------------------------------------------------------------------------------
// Organization plugin (organizationClient): create an organization, set it active, invite a
// second user who signs up, verifies their email and accepts (links read from the dev mailbox
// at MAILBOX_URL), change their role, list members, create a team and add the member.
// ---------------------------------------------------------------------------------------------

const mailboxUrl = process.env.MAILBOX_URL;

async function mailTo(address, template) {
  const response = await fetch(`${mailboxUrl}?to=${encodeURIComponent(address)}`);
  const messages = await response.json();
  return messages.filter((m) => m.template === template).pop() || null;
}

async function organizationWalk() {
  const orgClient = createAuthClient({
    baseURL: origin,
    basePath: "/api/v1/auth",
    plugins: [organizationClient({ teams: { enabled: true } })],
  });
  const stamp = Date.now();
  const ownerEmail = `owner.${stamp}@example.com`;
  const inviteeEmail = `invitee.${stamp}@example.com`;

  const ownerUp = capture();
  const owner = await orgClient.signUp.email({ email: ownerEmail, password, name: "Olive Owner" }, ownerUp.options);
  check("organization owner signs up", owner.data && owner.data.user, owner.error);
  const asOwner = bearer(ownerUp.seen.authToken);

  const slug = `acme-${stamp}`;
  const created = await orgClient.organization.create({ name: "Acme", slug, metadata: { plan: "pro" } }, asOwner);
  check("organization create", created.data && created.data.slug === slug && created.data.members.length === 1 && created.data.members[0].role === "owner", created.error);
  check("organization create returns parsed metadata", created.data && created.data.metadata && created.data.metadata.plan === "pro", created.data);
  check("organization createdAt is a Date", created.data && created.data.createdAt instanceof Date);
  const orgId = created.data && created.data.id;

  const active = await orgClient.organization.setActive({ organizationId: orgId }, asOwner);
  check("organization set-active", active.data && active.data.id === orgId, active.error);
  const ownerSession = await orgClient.getSession({ fetchOptions: asOwner });
  check("session shows the active organization", ownerSession.data && ownerSession.data.session.activeOrganizationId === orgId, ownerSession.data);
  const taken = await orgClient.organization.checkSlug({ slug }, asOwner);
  check("check-slug reports a taken slug", taken.error && taken.error.status === 400 && taken.error.code === "ORGANIZATION_SLUG_ALREADY_TAKEN", taken.error);

  const invited = await orgClient.organization.inviteMember({ email: inviteeEmail, role: "member" }, asOwner);
  check("invite-member", invited.data && invited.data.status === "pending" && invited.data.email === inviteeEmail, invited.error);

  // The invitee signs up and verifies their email through the emailed link.
  const inviteeUp = capture();
  const invitee = await orgClient.signUp.email({ email: inviteeEmail, password, name: "Ivy Invitee" }, inviteeUp.options);
  check("invitee signs up", invitee.data && invitee.data.user, invitee.error);
  const asInvitee = bearer(inviteeUp.seen.authToken);
  const early = await orgClient.organization.acceptInvitation({ invitationId: invited.data && invited.data.id }, asInvitee);
  check("accepting needs a verified email", early.error && early.error.status === 403 && early.error.code === "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION", early.error);
  const verification = await mailTo(inviteeEmail, "verify-email");
  const verified = verification && (await fetch(verification.url, { redirect: "manual" }));
  check("invitee verifies their email", verified && verified.status === 302, verification);

  // The invitation id comes from the invitation email's link.
  const invitationMail = await mailTo(inviteeEmail, "organization-invitation");
  const invitationId = invitationMail && invitationMail.url.split("/").pop();
  check("invitation email carries the invitation id", invitationId && invited.data && invitationId === invited.data.id, invitationMail);
  const mine = await orgClient.organization.listUserInvitations({ fetchOptions: asInvitee });
  check("list-user-invitations", Array.isArray(mine.data) && mine.data.length === 1 && mine.data[0].organizationName === "Acme", mine.error || mine.data);
  const details = await orgClient.organization.getInvitation({ query: { id: invitationId }, fetchOptions: asInvitee });
  check("get-invitation", details.data && details.data.organizationSlug === slug && details.data.inviterEmail === ownerEmail, details.error);
  const accepted = await orgClient.organization.acceptInvitation({ invitationId }, asInvitee);
  check("invitation accepted", accepted.data && accepted.data.invitation.status === "accepted" && accepted.data.member.role === "member", accepted.error);
  const memberId = accepted.data && accepted.data.member.id;
  const inviteeRole = await orgClient.organization.getActiveMemberRole({ fetchOptions: asInvitee });
  check("invitee's active organization is the new one", inviteeRole.data && inviteeRole.data.role === "member", inviteeRole.error);
  const denied = await orgClient.organization.updateMemberRole({ memberId, role: "admin" }, asInvitee);
  check("a member cannot change roles", denied.error && denied.error.status === 403 && denied.error.code === "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER", denied.error);

  const promoted = await orgClient.organization.updateMemberRole({ memberId, role: ["admin", "member"] }, asOwner);
  check("member role updated", promoted.data && promoted.data.id === memberId && promoted.data.role === "admin,member", promoted.error);

  const members = await orgClient.organization.listMembers({ query: { sortBy: "createdAt" }, fetchOptions: asOwner });
  const roles = members.data ? members.data.members.map((m) => `${m.user.email}:${m.role}`) : [];
  check("list-members shows both", members.data && members.data.total === 2 && roles.includes(`${ownerEmail}:owner`) && roles.includes(`${inviteeEmail}:admin,member`), members.error || roles);
  const full = await orgClient.organization.getFullOrganization({ fetchOptions: asOwner });
  check("get-full-organization", full.data && full.data.members.length === 2 && Array.isArray(full.data.teams) && full.data.teams.length === 1, full.error);

  const team = await orgClient.organization.createTeam({ name: "Platform" }, asOwner);
  check("create-team", team.data && team.data.name === "Platform" && team.data.organizationId === orgId, team.error);
  const added = await orgClient.organization.addTeamMember({ teamId: team.data && team.data.id, userId: invitee.data && invitee.data.user.id }, asOwner);
  check("team member added", added.data && added.data.teamId === (team.data && team.data.id) && added.data.userId === invitee.data.user.id, added.error);
  const teamMembers = await orgClient.organization.listTeamMembers({ query: { teamId: team.data && team.data.id }, fetchOptions: asInvitee });
  check("list-team-members", Array.isArray(teamMembers.data) && teamMembers.data.length === 1, teamMembers.error || teamMembers.data);
  const allowed = await orgClient.organization.hasPermission({ permissions: { team: ["create"] } }, asInvitee);
  check("has-permission for the promoted member", allowed.data && allowed.data.success === true, allowed.error);
  const teams = await orgClient.organization.listTeams({ fetchOptions: asInvitee });
  check("list-teams", Array.isArray(teams.data) && teams.data.length === 2, teams.error || teams.data);
}
// ------------------------------------------------------------------------ end organization plugin

try {
  await main();
  await organizationWalk();
} catch (error) {
  check("no exception", false, String(error && error.stack ? error.stack : error));
}
const failed = checks.filter((c) => !c.ok).map((c) => c.name);
console.log(JSON.stringify({ checks, failed }));
process.exit(failed.length === 0 ? 0 : 1);
