// Shared by the plugin walks (`<plugin>-test.mjs`): the check list and its JSON report, header
// capture (set-auth-token, Set-Cookie), cookie helpers and the dev mailbox. Each walk drives the
// Rust auth API at AUTH_ORIGIN through the real better-auth client with one client plugin.

export const origin = process.env.AUTH_ORIGIN;
if (!origin) {
  console.error("AUTH_ORIGIN is not set");
  process.exit(2);
}
export const mailboxUrl = process.env.MAILBOX_URL;
export const password = "correct-horse-battery";

const checks = [];
export function check(name, ok, detail) {
  checks.push({ name, ok: Boolean(ok), detail: detail === undefined ? null : detail });
}

// Runs the walk and prints the report as the last stdout line; exit code 0 only if all passed.
export async function run(walk) {
  try {
    await walk();
  } catch (error) {
    check("no exception", false, String(error && error.stack ? error.stack : error));
  }
  const failed = checks.filter((c) => !c.ok).map((c) => c.name);
  console.log(JSON.stringify({ checks, failed }));
  process.exit(failed.length === 0 ? 0 : 1);
}

// Fetch options that send Origin (and the given cookies) and record the response's
// set-auth-token and Set-Cookie lines.
export function capture(cookies) {
  const seen = { authToken: null, cookies: [] };
  const headers = { Origin: origin };
  if (cookies && cookies.length) headers.Cookie = cookies.filter(Boolean).join("; ");
  return {
    seen,
    options: {
      headers,
      onResponse(ctx) {
        seen.authToken = ctx.response.headers.get("set-auth-token");
        seen.cookies = ctx.response.headers.getSetCookie ? ctx.response.headers.getSetCookie() : [];
      },
    },
  };
}

// `name=value` of the cookie a response set (null when absent or expired).
export function cookiePair(setCookies, name) {
  const line = setCookies.find((c) => c.startsWith(`${name}=`) && !/Max-Age=0/.test(c));
  return line ? line.split(";")[0] : null;
}

export function withCookies(...pairs) {
  return { headers: { Origin: origin, Cookie: pairs.filter(Boolean).join("; ") } };
}

// The messages the server sent to `address`, oldest first: [{template, url, otp, links}].
export async function mailTo(address) {
  const response = await fetch(`${mailboxUrl}?to=${encodeURIComponent(address)}`);
  return await response.json();
}

// A browser's cookie jar: `absorb` applies a response's Set-Cookie lines (Max-Age=0 removes),
// `options()` gives fetch options sending them (with Origin) and absorbing the answer.
export class Jar {
  constructor() {
    this.cookies = new Map();
  }
  absorb(lines) {
    for (const line of lines) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at);
      if (/Max-Age=0/.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(at + 1));
    }
  }
  header() {
    return [...this.cookies].map(([n, v]) => `${n}=${v}`).join("; ");
  }
  names() {
    return [...this.cookies.keys()];
  }
  options() {
    const headers = { Origin: origin };
    const cookie = this.header();
    if (cookie) headers.Cookie = cookie;
    return {
      headers,
      onResponse: (ctx) => {
        this.absorb(ctx.response.headers.getSetCookie ? ctx.response.headers.getSetCookie() : []);
      },
    };
  }
}
