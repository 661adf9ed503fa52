// The better-auth peer of `cargo xtask bench`: the real better-auth server with its defaults
// (email and password sign-up switched on, as every email/password app does; cookie cache off;
// rate limiting as its defaults say outside production) on SQLite through better-sqlite3, mounted
// with better-auth's own Node adapter on node:http. It creates its schema with better-auth's own
// migrations in the working directory, listens on 127.0.0.1 on a free port and prints
// `listening http://127.0.0.1:<port>` once ready. It stops on SIGTERM or when stdin closes.
import { createServer } from "node:http";
import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";

const server = createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const baseURL = `http://127.0.0.1:${server.address().port}`;

const options = {
  baseURL,
  basePath: "/api/auth",
  secret: process.env.BETTER_AUTH_SECRET ?? "xtask-bench-better-auth-secret-0123456789",
  database: new Database(process.env.BETTER_AUTH_DB ?? "better-auth.sqlite"),
  emailAndPassword: { enabled: true },
  session: { cookieCache: { enabled: false } },
};
const { runMigrations } = await getMigrations(options);
await runMigrations();
const auth = betterAuth(options);

server.on("request", toNodeHandler(auth));
process.stdout.write(`listening ${baseURL}\n`);

const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
