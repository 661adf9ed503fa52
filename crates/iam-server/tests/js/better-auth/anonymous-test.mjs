// The anonymous plugin through the real client's `anonymousClient()`: a guest signs in
// anonymously, cannot do so twice, then signs up as a real user from the guest session (the
// guest is removed), and another guest deletes itself.

import { createAuthClient } from "better-auth/client";
import { anonymousClient } from "better-auth/client/plugins";
import { capture, check, cookiePair, origin, password, run, withCookies } from "./lib.mjs";

const client = createAuthClient({ baseURL: origin, basePath: "/api/v1/auth", plugins: [anonymousClient()] });
const SESSION = "better-auth.session_token";
const email = `from.guest.${Date.now()}@example.com`;

await run(async () => {
  const guest = capture();
  const signed = await client.signIn.anonymous({ fetchOptions: guest.options });
  const guestCookie = cookiePair(guest.seen.cookies, SESSION);
  check("anonymous: sign-in", signed.data && signed.data.user.isAnonymous === true && typeof signed.data.token === "string", signed.error || signed.data);
  check("anonymous: session cookie", Boolean(guestCookie), guest.seen.cookies);
  const me = await client.getSession({ fetchOptions: withCookies(guestCookie) });
  check("anonymous: get-session shows the guest", me.data && me.data.user.isAnonymous === true, me.data);
  const again = await client.signIn.anonymous({ fetchOptions: withCookies(guestCookie) });
  check("anonymous: no second anonymous sign-in", again.error && again.error.status === 400 && again.error.code === "ANONYMOUS_USERS_CANNOT_SIGN_IN_AGAIN_ANONYMOUSLY", again.error);

  const up = capture([guestCookie]);
  const real = await client.signUp.email({ email, password, name: "From Guest" }, up.options);
  check("anonymous: sign-up from the guest session", real.data && real.data.user.isAnonymous === false, real.error || real.data);
  const gone = await client.getSession({ fetchOptions: withCookies(guestCookie) });
  check("anonymous: the guest is gone after linking", gone.data === null, gone.data);

  const other = capture();
  await client.signIn.anonymous({ fetchOptions: other.options });
  const otherCookie = cookiePair(other.seen.cookies, SESSION);
  const deleted = await client.deleteAnonymousUser({ fetchOptions: withCookies(otherCookie) });
  check("anonymous: delete-anonymous-user", deleted.data && deleted.data.success === true, deleted.error);
  const realCookie = cookiePair(up.seen.cookies, SESSION);
  const refused = await client.deleteAnonymousUser({ fetchOptions: withCookies(realCookie) });
  check("anonymous: a real user cannot be deleted so", refused.error && refused.error.status === 403 && refused.error.code === "USER_IS_NOT_ANONYMOUS", refused.error);
});
