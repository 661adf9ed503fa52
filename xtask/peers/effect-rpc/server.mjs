// The @effect/rpc peer of `cargo xtask bench`: the real @effect/rpc HTTP server, set up as its
// README does (RpcServer.layer + layerProtocolHttp with NDJSON serialization on HttpRouter.Default,
// served by NodeHttpServer), answering the shared group's payload-less `getHealth` with
// `{"status":"ok"}` at the path runtime-server serves it (/v1/shared/rpc). It listens on
// 127.0.0.1 on a free port, prints `listening http://127.0.0.1:<port>` once ready, and stops on
// SIGTERM or when stdin closes.
import { createServer } from "node:http";
import { HttpRouter, HttpServer } from "@effect/platform";
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer";
import { Rpc, RpcGroup, RpcSerialization, RpcServer } from "@effect/rpc";
import { Effect, Layer, Schema } from "effect";

const Health = Schema.Struct({ status: Schema.Literal("ok") });
const SharedRpcs = RpcGroup.make(Rpc.make("getHealth", { success: Health }));
const Handlers = SharedRpcs.toLayer({ getHealth: () => Effect.succeed({ status: "ok" }) });

const Protocol = RpcServer.layerProtocolHttp({ path: "/v1/shared/rpc" }).pipe(
  Layer.provide(RpcSerialization.layerNdjson),
);
const PrintAddress = Layer.effectDiscard(
  Effect.gen(function* () {
    const { address } = yield* HttpServer.HttpServer;
    yield* Effect.sync(() => process.stdout.write(`listening http://127.0.0.1:${address.port}\n`));
  }),
);
const Main = HttpRouter.Default.serve().pipe(
  Layer.provide(RpcServer.layer(SharedRpcs).pipe(Layer.provide(Handlers))),
  Layer.provide(Protocol),
  Layer.merge(PrintAddress),
  Layer.provide(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
);

const running = Effect.runFork(Layer.launch(Main));
const stop = () => Effect.runPromise(running.interruptAsFork(running.id())).then(() => process.exit(0));
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
