// Drives the real @effect/rpc client against the Rust RPC server, over WebSocket/NDJSON,
// HTTP/NDJSON and HTTP/JSON, and prints one JSON object of observations on stdout for
// crates/runtime-server/tests/effect_rpc_client.rs to assert. Every check runs on every transport.
//
// Environment: RPC_BASE_URL (http://127.0.0.1:<port>), RPC_TOKEN (the bearer token the test
// resolver accepts).

import { FetchHttpClient, HttpClient, HttpClientRequest, Socket } from "@effect/platform"
import { Rpc, RpcClient, RpcGroup, RpcSerialization } from "@effect/rpc"
import { Cause, Chunk, Duration, Effect, Exit, Layer, Schema, Stream } from "effect"
import WebSocket from "ws"

const base = process.env.RPC_BASE_URL
const token = process.env.RPC_TOKEN
if (!base || !token) {
  console.error("RPC_BASE_URL and RPC_TOKEN must be set")
  process.exit(2)
}

class RpcTestError extends Schema.TaggedError()("RpcTestError", { message: Schema.String }) {}
class Unauthorized extends Schema.TaggedError()("Unauthorized", { message: Schema.String }) {}

const Health = Schema.Struct({ status: Schema.Literal("ok") })

// The `shared` group at /v1/shared/rpc as the front ends declare it (only getHealth exists yet).
const SharedRpcs = RpcGroup.make(Rpc.make("getHealth", { success: Health }))

// The test-only group served by the Rust test at /v1/test/rpc (effect-rpc-protocol.md §8; its
// getHealth is the shared group's handler), plus `ticks` (an endless stream) and
// `activeStreams` (how many stream handlers are alive).
const TestRpcs = RpcGroup.make(
  Rpc.make("getHealth", { success: Health }),
  Rpc.make("echo", {
    payload: { text: Schema.String },
    success: Schema.Struct({ text: Schema.String })
  }),
  Rpc.make("countTo", { payload: { n: Schema.Number }, success: Schema.Number, stream: true }),
  Rpc.make("ticks", { success: Schema.Number, stream: true }),
  Rpc.make("activeStreams", { success: Schema.Struct({ count: Schema.Number }) }),
  Rpc.make("failWith", { payload: { message: Schema.String }, error: RpcTestError }),
  Rpc.make("whoAmI", { success: Schema.Struct({ userId: Schema.String }), error: Unauthorized }),
  // Not served: checks how an unknown tag is answered.
  Rpc.make("notImplemented", {})
)

const TRANSPORTS = ["websocket-ndjson", "http-ndjson", "http-json"]

/** The client protocol for `transport` at `path`, with `transportHeaders` on the upgrade/POST. */
const protocol = (transport, path, transportHeaders = {}) => {
  const url = base + path
  if (transport === "websocket-ndjson") {
    const constructor = Layer.succeed(
      Socket.WebSocketConstructor,
      (wsUrl, protocols) => new WebSocket(wsUrl, protocols, { headers: transportHeaders })
    )
    return RpcClient.layerProtocolSocket().pipe(
      Layer.provide(Socket.layerWebSocket(url.replace(/^http/, "ws"))),
      Layer.provide(constructor),
      Layer.provide(RpcSerialization.layerNdjson)
    )
  }
  return RpcClient.layerProtocolHttp({
    url,
    transformClient: (client) =>
      HttpClient.mapRequest(client, HttpClientRequest.setHeaders(transportHeaders))
  }).pipe(
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(
      transport === "http-ndjson" ? RpcSerialization.layerNdjson : RpcSerialization.layerJson
    )
  )
}

/** Runs `use(client)` with a fresh client (one WebSocket, or one HTTP client) for `group`. */
const withClient = (group, transport, path, use, transportHeaders) =>
  Effect.gen(function*() {
    const client = yield* RpcClient.make(group)
    return yield* use(client)
  }).pipe(Effect.scoped, Effect.provide(protocol(transport, path, transportHeaders)))

const collect = (stream) => Stream.runCollect(stream).pipe(Effect.map(Chunk.toReadonlyArray))

/** What a failed call looks like: its typed error, or its defect's message. */
const describeFailure = (exit) => {
  if (Exit.isSuccess(exit)) return { success: exit.value }
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some") {
    const error = failure.value
    return {
      tag: error._tag,
      message: error.message,
      typed: error instanceof RpcTestError || error instanceof Unauthorized
    }
  }
  const defects = Chunk.toReadonlyArray(Cause.defects(exit.cause))
  if (defects.length > 0) {
    const defect = defects[0]
    return { defect: typeof defect === "string" ? defect : String(defect?.message ?? defect) }
  }
  return { interrupted: Cause.isInterrupted(exit.cause) }
}

/** Polls `activeStreams` until no stream handler is alive (or 3 s passed). */
const pollStreams = (client) =>
  Effect.gen(function*() {
    for (let i = 0; i < 60; i++) {
      const { count } = yield* client.activeStreams()
      if (count === 0) return 0
      yield* Effect.sleep("50 millis")
    }
    const { count } = yield* client.activeStreams()
    return count
  })

const checkTransport = (transport) =>
  Effect.gen(function*() {
    const result = { transport }

    result.sharedHealth = yield* withClient(SharedRpcs, transport, "/v1/shared/rpc", (client) =>
      client.getHealth())

    yield* withClient(TestRpcs, transport, "/v1/test/rpc", (client) =>
      Effect.gen(function*() {
        result.health = yield* client.getHealth()
        result.echo = yield* client.echo({ text: "héllo 🌍" })
        const big = "é🌍你".repeat(30000)
        const bigEcho = yield* client.echo({ text: big })
        result.bigEchoIntact = bigEcho.text === big
        const numbers = yield* collect(client.countTo({ n: 1000 }))
        result.countTo = {
          length: numbers.length,
          inOrder: numbers.every((n, i) => n === i + 1)
        }
        result.emptyStream = yield* collect(client.countTo({ n: 0 }))
        result.failWith = describeFailure(yield* Effect.exit(client.failWith({ message: "boom" })))
        result.anonymous = describeFailure(yield* Effect.exit(client.whoAmI()))
        result.wrongToken = describeFailure(
          yield* Effect.exit(client.whoAmI(undefined, { headers: { authorization: "Bearer nope" } }))
        )
        result.perCallToken = describeFailure(
          yield* Effect.exit(
            client.whoAmI(undefined, { headers: { authorization: `Bearer ${token}` } })
          )
        )

        const texts = Array.from({ length: 50 }, (_, i) => `call ${i}`)
        const echoed = yield* Effect.all(texts.map((text) => client.echo({ text })), {
          concurrency: "unbounded"
        })
        result.concurrent = {
          calls: echoed.length,
          allMatch: echoed.every((reply, i) => reply.text === texts[i])
        }

        // An unknown tag fails that call only; a call running next to it is unaffected.
        const [unknown, neighbour] = yield* Effect.all(
          [Effect.exit(client.notImplemented()), client.echo({ text: "still here" })],
          { concurrency: "unbounded" }
        )
        result.unknownTag = describeFailure(unknown)
        result.afterUnknownTag = neighbour.text

        if (transport === "http-json") {
          // JSON replies arrive whole: the only way to stop an endless stream is to give up.
          const gaveUp = yield* collect(client.ticks()).pipe(
            Effect.timeoutTo({
              duration: Duration.millis(300),
              onSuccess: () => false,
              onTimeout: () => true
            })
          )
          result.interrupted = { received: gaveUp ? "timed out" : "completed" }
        } else {
          const first = yield* collect(client.ticks().pipe(Stream.take(3)))
          result.interrupted = { received: first }
        }
        result.interrupted.streamsLeft = yield* pollStreams(client)
        result.echoAfterInterrupt = (yield* client.echo({ text: "after" })).text
      }))

    result.transportHeaderToken = yield* withClient(
      TestRpcs,
      transport,
      "/v1/test/rpc",
      (client) => client.whoAmI().pipe(Effect.exit, Effect.map(describeFailure)),
      { authorization: `Bearer ${token}` }
    )
    return result
  })

const program = Effect.forEach(TRANSPORTS, checkTransport).pipe(
  Effect.timeoutFail({
    duration: Duration.seconds(90),
    onTimeout: () => new Error("the compatibility run took longer than 90 s")
  })
)

Effect.runPromise(program).then(
  (results) => {
    console.log(JSON.stringify(results))
    process.exit(0)
  },
  (error) => {
    console.error("compatibility run failed:", error)
    process.exit(1)
  }
)
