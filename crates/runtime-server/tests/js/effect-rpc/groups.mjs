// Drives the real @effect/rpc client against two RPC groups of the composed server, each
// provided by its own slice layer: `shared` at /v1/shared/rpc and the test slice's `notes` at
// /v1/notes/rpc, over WebSocket/NDJSON, HTTP/NDJSON and HTTP/JSON. Prints one JSON object of
// observations per transport on stdout for crates/runtime-server/tests/slice_groups.rs.
//
// Dotted tags (`Note.echo`) are reached as `client.Note.echo`, as the front ends call them.
//
// Environment: RPC_BASE_URL (http://127.0.0.1:<port>).

import { FetchHttpClient, Socket } from "@effect/platform"
import { Rpc, RpcClient, RpcGroup, RpcSerialization } from "@effect/rpc"
import { Chunk, Effect, Layer, Schema, Stream } from "effect"
import WebSocket from "ws"

const base = process.env.RPC_BASE_URL
if (!base) {
  console.error("RPC_BASE_URL must be set")
  process.exit(2)
}

class NoteNotFoundError extends Schema.TaggedError()("NoteNotFoundError", { id: Schema.String }) {}

const SharedRpcs = RpcGroup.make(
  Rpc.make("getHealth", { success: Schema.Struct({ status: Schema.Literal("ok") }) })
)
const NotesRpcs = RpcGroup.make(
  Rpc.make("Note.echo", {
    payload: { text: Schema.String },
    success: Schema.Struct({ text: Schema.String, group: Schema.Literal("notes") })
  }),
  Rpc.make("Note.get", { payload: { id: Schema.String }, error: NoteNotFoundError }),
  Rpc.make("Note.count", { payload: { n: Schema.Number }, success: Schema.Number, stream: true })
)

const protocol = (transport, path) => {
  const url = base + path
  if (transport === "websocket-ndjson") {
    return RpcClient.layerProtocolSocket().pipe(
      Layer.provide(Socket.layerWebSocket(url.replace(/^http/, "ws"))),
      Layer.provide(Layer.succeed(Socket.WebSocketConstructor, (u, p) => new WebSocket(u, p))),
      Layer.provide(RpcSerialization.layerNdjson)
    )
  }
  return RpcClient.layerProtocolHttp({ url }).pipe(
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(
      transport === "http-ndjson" ? RpcSerialization.layerNdjson : RpcSerialization.layerJson
    )
  )
}

const withClient = (group, transport, path, use) =>
  Effect.gen(function*() {
    const client = yield* RpcClient.make(group)
    return yield* use(client)
  }).pipe(Effect.scoped, Effect.provide(protocol(transport, path)))

const observe = (transport) =>
  Effect.gen(function*() {
    const health = yield* withClient(SharedRpcs, transport, "/v1/shared/rpc", (c) => c.getHealth())
    const notes = yield* withClient(NotesRpcs, transport, "/v1/notes/rpc", (c) =>
      Effect.gen(function*() {
        const echo = yield* c.Note.echo({ text: "hi" })
        const missing = yield* c.Note.get({ id: "note_1" }).pipe(
          Effect.map(() => "no error"),
          Effect.catchTag("NoteNotFoundError", (e) =>
            Effect.succeed({ tag: e._tag, id: e.id, typed: e instanceof NoteNotFoundError }))
        )
        const counted = yield* Stream.runCollect(c.Note.count({ n: 3 }))
        return { echo, missing, counted: Chunk.toReadonlyArray(counted) }
      }))
    return { transport, health, ...notes }
  })

const program = Effect.forEach(["websocket-ndjson", "http-ndjson", "http-json"], observe)

Effect.runPromise(program).then(
  (results) => {
    console.log(JSON.stringify(results))
    process.exit(0)
  },
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
