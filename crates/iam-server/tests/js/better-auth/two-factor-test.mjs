// The two-factor plugin through the real client's `twoFactorClient()`: enable (password) →
// TOTP URI and backup codes, the first TOTP code turns 2FA on, a sign-in answers
// twoFactorRedirect (the client's onTwoFactorRedirect fires), completed by TOTP (trusting the
// device), by an emailed code (read from the dev mailbox) and by a backup code (single use);
// new backup codes, the TOTP URI again, disable. TOTP codes are computed here from the secret
// in the URI (RFC 6238 with node:crypto), as an authenticator app would.

import { createHmac } from "node:crypto";
import { createAuthClient } from "better-auth/client";
import { twoFactorClient } from "better-auth/client/plugins";
import { capture, check, cookiePair, mailTo, origin, password, run, withCookies } from "./lib.mjs";

let redirects = 0;
const client = createAuthClient({
  baseURL: origin,
  basePath: "/api/v1/auth",
  plugins: [twoFactorClient({ onTwoFactorRedirect: () => { redirects += 1; } })],
});
const email = `two.factor.${Date.now()}@example.com`;
const SESSION = "better-auth.session_token";
const TWO_FACTOR = "better-auth.two_factor";
const TRUST = "better-auth.trust_device";

function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, "")) {
    value = (value << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totp(uri) {
  const params = new URL(uri).searchParams;
  const key = base32Decode(params.get("secret"));
  const digits = Number(params.get("digits") || 6);
  const period = Number(params.get("period") || 30);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / period)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const number = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(number).padStart(digits, "0");
}

async function signInChallenge(extraCookies) {
  const seen = capture(extraCookies);
  const before = redirects;
  const result = await client.signIn.email({ email, password }, seen.options);
  return { result, challenge: cookiePair(seen.seen.cookies, TWO_FACTOR), redirected: redirects === before + 1, seen: seen.seen };
}

await run(async () => {
  const up = capture();
  await client.signUp.email({ email, password, name: "Two Factor" }, up.options);
  let session = cookiePair(up.seen.cookies, SESSION);
  check("2fa: signed up", Boolean(session), up.seen.cookies);

  const enable = await client.twoFactor.enable({ password }, withCookies(session));
  const uri = enable.data && enable.data.totpURI;
  check("2fa: enable returns the TOTP URI", typeof uri === "string" && uri.startsWith("otpauth://totp/"), enable.error || enable.data);
  const backupCodes = (enable.data && enable.data.backupCodes) || [];
  check("2fa: enable returns 10 backup codes", backupCodes.length === 10, backupCodes);
  const badPassword = await client.twoFactor.enable({ password: "not-the-password" }, withCookies(session));
  check("2fa: enable with a wrong password is 400", badPassword.error && badPassword.error.status === 400 && badPassword.error.code === "INVALID_PASSWORD", badPassword.error);

  const first = capture([session]);
  const confirmed = await client.twoFactor.verifyTotp({ code: totp(uri) }, first.options);
  check("2fa: the first TOTP code turns 2FA on", confirmed.data && confirmed.data.user.twoFactorEnabled === true, confirmed.error || confirmed.data);
  session = cookiePair(first.seen.cookies, SESSION) || session;
  const me = await client.getSession({ fetchOptions: withCookies(session) });
  check("2fa: get-session shows twoFactorEnabled", me.data && me.data.user.twoFactorEnabled === true, me.data);

  // Sign-in held back; completed by TOTP, trusting this device.
  const held = await signInChallenge();
  check("2fa: sign-in answers twoFactorRedirect", held.result.data && held.result.data.twoFactorRedirect === true && Array.isArray(held.result.data.twoFactorMethods) && held.result.data.twoFactorMethods.includes("totp"), held.result.data);
  check("2fa: the client's onTwoFactorRedirect fired", held.redirected);
  check("2fa: no session before the second factor", !cookiePair(held.seen.cookies, SESSION) && Boolean(held.challenge), held.seen.cookies);
  const wrong = await client.twoFactor.verifyTotp({ code: "000000" }, withCookies(held.challenge));
  check("2fa: a wrong TOTP code is 401 INVALID_CODE", wrong.error && wrong.error.status === 401 && wrong.error.code === "INVALID_CODE", wrong.error);
  const byTotp = capture([held.challenge]);
  const done = await client.twoFactor.verifyTotp({ code: totp(uri), trustDevice: true }, byTotp.options);
  const trust = cookiePair(byTotp.seen.cookies, TRUST);
  check("2fa: TOTP completes the sign-in", done.data && typeof done.data.token === "string" && Boolean(cookiePair(byTotp.seen.cookies, SESSION)), done.error || byTotp.seen.cookies);
  check("2fa: trustDevice sets the trusted-device cookie", Boolean(trust), byTotp.seen.cookies);

  const trusted = await signInChallenge([trust]);
  check("2fa: a trusted device signs in directly", trusted.result.data && typeof trusted.result.data.token === "string" && !trusted.result.data.twoFactorRedirect, trusted.result.data);

  // Completed by an emailed code.
  const byMail = await signInChallenge();
  const sent = await client.twoFactor.sendOtp({}, withCookies(byMail.challenge));
  check("2fa: send-otp", sent.data && sent.data.status === true, sent.error);
  const mails = await mailTo(email);
  const otp = mails.length ? mails[mails.length - 1].otp : null;
  check("2fa: the code arrived by email", typeof otp === "string" && /^\d{6}$/.test(otp), mails);
  const byOtp = capture([byMail.challenge]);
  const otpDone = await client.twoFactor.verifyOtp({ code: otp }, byOtp.options);
  check("2fa: the emailed code completes the sign-in", otpDone.data && typeof otpDone.data.token === "string" && Boolean(cookiePair(byOtp.seen.cookies, SESSION)), otpDone.error);

  // Completed by a backup code, which then no longer works.
  const byBackup = await signInChallenge();
  const backupDone = await client.twoFactor.verifyBackupCode({ code: backupCodes[0] }, withCookies(byBackup.challenge));
  check("2fa: a backup code completes the sign-in", backupDone.data && typeof backupDone.data.token === "string", backupDone.error);
  const again = await signInChallenge();
  const reused = await client.twoFactor.verifyBackupCode({ code: backupCodes[0] }, withCookies(again.challenge));
  check("2fa: a backup code works once", reused.error && reused.error.status === 401 && reused.error.code === "INVALID_BACKUP_CODE", reused.error);

  const regenerated = await client.twoFactor.generateBackupCodes({ password }, withCookies(session));
  check("2fa: new backup codes", regenerated.data && regenerated.data.status === true && regenerated.data.backupCodes.length === 10, regenerated.error);
  const uriAgain = await client.twoFactor.getTotpUri({ password }, withCookies(session));
  check("2fa: get-totp-uri gives the same secret", uriAgain.data && new URL(uriAgain.data.totpURI).searchParams.get("secret") === new URL(uri).searchParams.get("secret"), uriAgain.error);

  const off = capture([session]);
  const disabled = await client.twoFactor.disable({ password }, off.options);
  check("2fa: disable", disabled.data && disabled.data.status === true, disabled.error);
  const plain = await signInChallenge();
  check("2fa: after disable a sign-in is direct", plain.result.data && typeof plain.result.data.token === "string" && !plain.result.data.twoFactorRedirect, plain.result.data);
});
