// Drives the shared slice's files flow (slices.md §1.5, §1.7) with the real @effect/rpc client,
// over WebSocket/NDJSON, HTTP/NDJSON and HTTP/JSON: an `eventStream_connect` stream is opened
// first, then a file is initiated, PUT to the presigned URL with a plain `fetch` (the bytes never
// pass through the RPC server), completed, listed, looked up, moved into a folder and deleted.
// Every reply is decoded strictly (excess properties are errors) against its documented shape.
// A member of another organization (TOKEN_B) must see none of it.
//
// Prints one JSON object of observations per transport for tests/files_end_to_end.rs.
// `eventStream_connect` never ends, so it is read over WebSocket and HTTP/NDJSON only: the HTTP/JSON
// serialization answers a call once it has ended (effect-rpc-protocol.md).
//
// Environment: RPC_BASE_URL, CONTENT_BASE_URL (where GET /v1/shared/files/{id}/content is
// served), TOKEN_A, USER_A (ada's user id), TOKEN_B.

import { createHash } from "node:crypto"
import http from "node:http"
import { FetchHttpClient, HttpClient, HttpClientRequest, Socket } from "@effect/platform"
import { Rpc, RpcClient, RpcGroup, RpcSerialization } from "@effect/rpc"
import { Chunk, Deferred, Effect, Fiber, Layer, Schema, Stream } from "effect"
import WebSocket from "ws"

const { RPC_BASE_URL: base, CONTENT_BASE_URL: contentBase, TOKEN_A: tokenA, USER_A: userA, TOKEN_B: tokenB } =
  process.env
if (!base || !contentBase || !tokenA || !userA || !tokenB) {
  console.error("RPC_BASE_URL, CONTENT_BASE_URL, TOKEN_A, USER_A and TOKEN_B must be set")
  process.exit(2)
}

// ---- The documented shapes (slices.md §0.5, §1.1, §1.7) -------------------------------------

const Ts = Schema.String.pipe(Schema.pattern(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/))
const Audit = {
  createdAt: Ts,
  updatedAt: Ts,
  deletedAt: Schema.optional(Ts),
  createdBy: Schema.optional(Schema.String),
  updatedBy: Schema.optional(Schema.String),
  deletedBy: Schema.optional(Schema.String),
  version: Schema.Int,
  source: Schema.optional(Schema.String)
}
const File = Schema.Struct({
  _rowId: Schema.Int,
  id: Schema.String.pipe(Schema.startsWith("shared_file__")),
  organizationId: Schema.String,
  key: Schema.String.pipe(Schema.startsWith("/")),
  url: Schema.String,
  name: Schema.String,
  size: Schema.Int,
  mimeType: Schema.String,
  userId: Schema.String,
  uploadedByUserId: Schema.String,
  folderId: Schema.optional(Schema.String),
  metadata: Schema.Struct({ extension: Schema.String }, Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  ...Audit
})
const Folder = Schema.Struct({
  _rowId: Schema.Int,
  id: Schema.String.pipe(Schema.startsWith("shared_folder__")),
  organizationId: Schema.String,
  userId: Schema.String,
  name: Schema.String,
  ...Audit
})
const FolderWithFiles = Schema.Struct({ ...Folder.fields, uploadedFiles: Schema.Array(File) })
const Descriptor = Schema.Struct({
  fileId: Schema.String,
  fileKey: Schema.String,
  organizationId: Schema.String,
  userId: Schema.String,
  folderId: Schema.NullOr(Schema.String),
  fileName: Schema.String,
  fileSize: Schema.Int,
  mimeType: Schema.String,
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  expiresAt: Ts
})
const Initiated = Schema.Struct({
  presignedUrl: Schema.String,
  fileKey: Schema.String,
  metadata: Descriptor,
  signature: Schema.String.pipe(Schema.pattern(/^hmac-sha256=[0-9a-f]{64}$/)),
  expiresAt: Ts
})
const Listing = Schema.Struct({ rootFiles: Schema.Array(File), folders: Schema.Array(FolderWithFiles) })
const Event = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Files.Uploaded"), file: File }),
  Schema.Struct({ _tag: Schema.Literal("Ka") })
)
const strict = (schema) => (value) =>
  Schema.decodeUnknownSync(schema, { onExcessProperty: "error" })(value)

class ValidationError extends Schema.TaggedError()("ValidationError", {
  message: Schema.String,
  path: Schema.optional(Schema.String)
}) {}
class FolderNotFoundError extends Schema.TaggedError()("FolderNotFoundError", { id: Schema.String }) {}
class FileTooLargeError extends Schema.TaggedError()("FileTooLargeError", { limit: Schema.Number }) {}
class UploadSessionNotFoundError extends Schema.TaggedError()("UploadSessionNotFoundError", {
  message: Schema.String
}) {}
class UploadNotReceivedError extends Schema.TaggedError()("UploadNotReceivedError", {
  message: Schema.String
}) {}
class UploadSignatureError extends Schema.TaggedError()("UploadSignatureError", {
  message: Schema.String
}) {}

// Successes are received as they are and checked with `strict`, so that an extra or a missing
// field fails the run instead of being stripped silently.
const SharedRpcs = RpcGroup.make(
  Rpc.make("files_initiateUpload", {
    payload: Schema.Unknown,
    success: Schema.Unknown,
    error: Schema.Union(ValidationError, FolderNotFoundError, FileTooLargeError)
  }),
  Rpc.make("files_completeUpload", {
    payload: { fileKey: Schema.String },
    success: Schema.Unknown,
    error: Schema.Union(UploadSessionNotFoundError, UploadNotReceivedError, UploadSignatureError)
  }),
  Rpc.make("files_list", { success: Schema.Unknown, stream: true }),
  Rpc.make("files_createFolder", { payload: { folderName: Schema.String }, success: Schema.Unknown, error: ValidationError }),
  Rpc.make("files_deleteFiles", { payload: { fileIds: Schema.Array(Schema.String) } }),
  Rpc.make("files_deleteFolders", { payload: { folderIds: Schema.Array(Schema.String) } }),
  Rpc.make("files_getFilesByKeys", {
    payload: { keys: Schema.Array(Schema.String) },
    success: Schema.Unknown,
    error: ValidationError
  }),
  Rpc.make("files_moveFiles", {
    payload: { fileIds: Schema.Array(Schema.String), folderId: Schema.NullOr(Schema.String) },
    error: FolderNotFoundError
  }),
  Rpc.make("eventStream_connect", { success: Schema.Array(Schema.Unknown), stream: true })
)

const protocol = (transport, token) => {
  const url = base + "/v1/shared/rpc"
  const headers = { authorization: `Bearer ${token}` }
  if (transport === "websocket-ndjson") {
    return RpcClient.layerProtocolSocket().pipe(
      Layer.provide(Socket.layerWebSocket(url.replace(/^http/, "ws"))),
      Layer.provide(
        Layer.succeed(Socket.WebSocketConstructor, (u, p) => new WebSocket(u, p, { headers }))
      ),
      Layer.provide(RpcSerialization.layerNdjson)
    )
  }
  return RpcClient.layerProtocolHttp({
    url,
    transformClient: (client) => HttpClient.mapRequest(client, HttpClientRequest.setHeaders(headers))
  }).pipe(
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(transport === "http-ndjson" ? RpcSerialization.layerNdjson : RpcSerialization.layerJson)
  )
}

const withClient = (transport, token, use) =>
  Effect.gen(function*() {
    const client = yield* RpcClient.make(SharedRpcs)
    return yield* use(client)
  }).pipe(Effect.scoped, Effect.provide(protocol(transport, token)))

/** PUTs `bytes` with node:http: exactly the two bound headers, Host and Content-Length. */
const putBytes = (url, bytes, md5) =>
  new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: "PUT",
      headers: {
        "content-type": "text/plain",
        "content-md5": md5.toString("base64"),
        "content-length": bytes.length
      }
    }, (response) => {
      let body = ""
      response.on("data", (chunk) => (body += chunk))
      response.on("end", () => resolve({ status: response.statusCode, body }))
    })
    request.on("error", reject)
    request.end(bytes)
  })

const failureOf = (effect) =>
  effect.pipe(
    Effect.map(() => "no error"),
    Effect.catchAll((e) => Effect.succeed({ tag: e._tag, typed: e instanceof Error, ...e }))
  )

const listOnce = (c) => Stream.runCollect(c.files_list()).pipe(Effect.map(Chunk.toReadonlyArray))

const observe = (transport) =>
  Effect.gen(function*() {
    const bytes = Buffer.from(`hello from ${transport}`)
    const md5 = createHash("md5").update(bytes).digest()
    const ada = yield* withClient(transport, tokenA, (c) =>
      Effect.gen(function*() {
        // The live stream first: it must carry the upload's event.
        const live = transport !== "http-json"
        const uploaded = yield* Deferred.make()
        const events = []
        const listener = yield* (live ? c.eventStream_connect() : Stream.empty).pipe(
          Stream.runForEach((batch) =>
            Effect.gen(function*() {
              for (const event of batch) {
                events.push(strict(Event)(event)._tag)
                if (event._tag === "Files.Uploaded") yield* Deferred.succeed(uploaded, event)
              }
            })
          ),
          Effect.fork
        )
        // Let the subscription start before the upload completes.
        yield* Effect.sleep("300 millis")

        const initiated = strict(Initiated)(yield* c.files_initiateUpload({
          fileName: `${transport}.txt`,
          fileSize: bytes.length,
          mimeType: "text/plain",
          entityKind: "user",
          entityIdentifier: userA,
          entityAttribute: "document",
          folderId: null,
          metadata: { extension: "txt", md5Hash: md5.toString("hex"), name: `${transport}.txt` }
        }))
        const early = yield* failureOf(c.files_completeUpload({ fileKey: initiated.fileKey }))
        const put = yield* Effect.promise(() => putBytes(initiated.presignedUrl, bytes, md5))
        const file = strict(File)(yield* c.files_completeUpload({ fileKey: initiated.fileKey }))
        const replay = yield* failureOf(c.files_completeUpload({ fileKey: initiated.fileKey }))
        const event = live ? yield* Deferred.await(uploaded).pipe(Effect.timeout("5 seconds")) : null
        yield* Fiber.interrupt(listener)

        const download = yield* Effect.promise(async () => {
          const response = await fetch(contentBase + file.url, { headers: { authorization: `Bearer ${tokenA}` }, redirect: "manual" })
          const location = response.headers.get("location")
          const object = location ? await fetch(location) : null
          return {
            status: response.status,
            location,
            objectStatus: object?.status,
            objectBody: object ? await object.text() : null
          }
        })

        const listed = (yield* listOnce(c)).map(strict(Listing))
        const byKeys = (yield* c.files_getFilesByKeys({ keys: [file.key, "/nope"] })).map((f) =>
          f === null ? null : strict(File)(f))
        const folder = strict(Folder)(yield* c.files_createFolder({ folderName: "In " + transport }))
        yield* c.files_moveFiles({ fileIds: [file.id], folderId: folder.id })
        const moved = (yield* listOnce(c)).map(strict(Listing))
        const missingFolder = yield* failureOf(
          c.files_moveFiles({ fileIds: [file.id], folderId: "shared_folder__0190f5d2-0000-7000-8000-00000000000a" })
        )
        const tooLarge = yield* failureOf(c.files_initiateUpload({
          fileName: "big.txt", fileSize: 1e12, mimeType: "text/plain", entityKind: "user",
          entityIdentifier: userA, entityAttribute: "document", folderId: null, metadata: { extension: "txt" }
        }))
        const tooManyKeys = yield* failureOf(c.files_getFilesByKeys({ keys: Array.from({ length: 101 }, (_, i) => `/k${i}`) }))
        return {
          initiatedKey: initiated.fileKey, early, putStatus: put.status, putBody: put.body, file, replay,
          event, eventTags: events, download,
          listed, byKeys, folder, moved, missingFolder, tooLarge, tooManyKeys
        }
      }))
    // Another tenant: sees nothing, deletes nothing.
    const bea = yield* withClient(transport, tokenB, (c) =>
      Effect.gen(function*() {
        const listed = (yield* listOnce(c)).map(strict(Listing))
        const byKeys = yield* c.files_getFilesByKeys({ keys: [ada.file.key] })
        yield* c.files_deleteFiles({ fileIds: [ada.file.id] })
        yield* c.files_deleteFolders({ folderIds: [ada.folder.id] })
        return { listed, byKeys }
      }))
    const afterBea = yield* withClient(transport, tokenA, (c) =>
      Effect.gen(function*() {
        const stillThere = (yield* listOnce(c)).map(strict(Listing))
        yield* c.files_deleteFolders({ folderIds: [ada.folder.id] })
        const afterDelete = (yield* listOnce(c)).map(strict(Listing))
        return { stillThere, afterDelete }
      }))
    return { transport, ...ada, bea, ...afterBea }
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
