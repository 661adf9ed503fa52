// The last-login-method plugin through the real client's `lastLoginMethodClient()`: after an
// email sign-in the server's readable cookie is what the client reports (the client reads
// `document.cookie`, which a browser fills from Set-Cookie; here it is filled by hand).

import { createAuthClient } from "better-auth/client";
import { lastLoginMethodClient } from "better-auth/client/plugins";
import { capture, check, cookiePair, origin, password, run } from "./lib.mjs";

const client = createAuthClient({ baseURL: origin, basePath: "/api/v1/auth", plugins: [lastLoginMethodClient()] });
const email = `last.login.${Date.now()}@example.com`;
const NAME = "better-auth.last_used_login_method";

await run(async () => {
  globalThis.document = { cookie: "" };
  check("last-login: nothing before signing in", client.getLastUsedLoginMethod() === null);
  const up = capture();
  await client.signUp.email({ email, password, name: "Last Login" }, up.options);
  const line = up.seen.cookies.find((c) => c.startsWith(`${NAME}=`));
  check("last-login: sign-up sets a readable cookie", Boolean(line) && !/HttpOnly/i.test(line), up.seen.cookies);
  const signIn = capture();
  const result = await client.signIn.email({ email, password }, signIn.options);
  check("last-login: sign-in", result.data && typeof result.data.token === "string", result.error);
  globalThis.document.cookie = cookiePair(signIn.seen.cookies, NAME) || "";
  check("last-login: the client reports email", client.getLastUsedLoginMethod() === "email", globalThis.document.cookie);
  check("last-login: isLastUsedLoginMethod", client.isLastUsedLoginMethod("email") && !client.isLastUsedLoginMethod("google"));
});
