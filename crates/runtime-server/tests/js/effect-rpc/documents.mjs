// Drives the documents group (slices.md §3.5) with the real @effect/rpc client through the
// composed server, over WebSocket/NDJSON, HTTP/NDJSON and HTTP/JSON: a page tree is created and
// edited, locked, commented, snapshotted, searched, trashed and deleted; another organization's
// member (TOKEN_B) finds none of it. Every success is decoded strictly (excess properties are
// errors) against its documented shape; every failure is decoded by the procedure's error
// schema, so an undeclared `_tag` fails the run.
//
// Prints one JSON object of observations per transport for tests/documents_client.rs.
// Environment: RPC_BASE_URL, TOKEN_A, USER_A, ORG_A, TOKEN_B, ORG_B.

import { FetchHttpClient, HttpClient, HttpClientRequest, Socket } from "@effect/platform"
import { Rpc, RpcClient, RpcGroup, RpcSerialization } from "@effect/rpc"
import { Chunk, Effect, Layer, Schema, Stream } from "effect"
import WebSocket from "ws"

const { RPC_BASE_URL: base, TOKEN_A: tokenA, USER_A: userA, ORG_A: orgA, TOKEN_B: tokenB, ORG_B: orgB } =
  process.env
if (!base || !tokenA || !userA || !orgA || !tokenB || !orgB) {
  console.error("RPC_BASE_URL, TOKEN_A, USER_A, ORG_A, TOKEN_B and ORG_B must be set")
  process.exit(2)
}

// ---- The documented shapes (slices.md §0.5, §3.1, §3.4, §3.5) -------------------------------

const Ts = Schema.String.pipe(Schema.pattern(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/))
const Id = (table) => Schema.String.pipe(Schema.pattern(new RegExp(`^${table}__[0-9a-f-]{36}$`)))
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
const Document = Schema.Struct({
  _rowId: Schema.Int,
  id: Id("documents_document"),
  organizationId: Schema.String,
  userId: Schema.String,
  templateId: Schema.optional(Schema.String),
  parentDocumentId: Schema.optional(Id("documents_document")),
  title: Schema.optional(Schema.String),
  content: Schema.optional(Schema.String),
  contentRich: Schema.optional(Schema.Unknown),
  yjsSnapshot: Schema.optional(Schema.String),
  coverImage: Schema.optional(Schema.String),
  icon: Schema.optional(Schema.String),
  isPublished: Schema.Boolean,
  isArchived: Schema.Boolean,
  lockPage: Schema.Boolean,
  textStyle: Schema.Literal("default", "serif", "mono"),
  smallText: Schema.Boolean,
  fullWidth: Schema.Boolean,
  toc: Schema.Boolean,
  ...Audit
})
const UserSummary = Schema.Struct({
  id: Id("shared_user"),
  _rowId: Schema.Int,
  name: Schema.String,
  image: Schema.optional(Schema.String)
})
const Discussion = Schema.Struct({
  _rowId: Schema.Int,
  id: Id("documents_discussion"),
  organizationId: Schema.String,
  documentId: Id("documents_document"),
  userId: Schema.String,
  documentContent: Schema.String,
  documentContentRich: Schema.optional(Schema.Unknown),
  isResolved: Schema.Boolean,
  ...Audit
})
const Comment = Schema.Struct({
  _rowId: Schema.Int,
  id: Id("documents_comment"),
  organizationId: Schema.String,
  discussionId: Id("documents_discussion"),
  userId: Schema.String,
  content: Schema.String,
  contentRich: Schema.optional(Schema.Unknown),
  isEdited: Schema.Boolean,
  ...Audit
})
const ThreadComment = Schema.Struct({
  id: Id("documents_comment"),
  _rowId: Schema.Int,
  content: Schema.String,
  contentRich: Schema.optional(Schema.Unknown),
  createdAt: Ts,
  updatedAt: Ts,
  discussionId: Id("documents_discussion"),
  isEdited: Schema.Boolean,
  user: UserSummary
})
const DiscussionWithComments = Schema.Struct({
  ...Discussion.fields,
  user: UserSummary,
  comments: Schema.Array(ThreadComment)
})
const DocumentVersion = Schema.Struct({
  _rowId: Schema.Int,
  id: Id("documents_document_version"),
  organizationId: Schema.String,
  documentId: Id("documents_document"),
  userId: Schema.String,
  title: Schema.optional(Schema.String),
  content: Schema.String,
  contentRich: Schema.optional(Schema.Unknown),
  ...Audit
})
const VersionWithUser = Schema.Struct({ ...DocumentVersion.fields, user: UserSummary })
const VersionContent = Schema.Struct({
  documentId: Id("documents_document"),
  documentVersionId: Id("documents_document_version"),
  content: Schema.String
})
const Created = (table) => Schema.Struct({ id: Id(table) })
const Snapshot = Schema.Struct({ data: DocumentVersion })
const SearchHit = Schema.Struct({
  id: Id("documents_document"),
  _rowId: Schema.Int,
  title: Schema.optional(Schema.String),
  content: Schema.optional(Schema.String),
  rank: Schema.Number
})
const strict = (schema) => (value) =>
  Schema.decodeUnknownSync(schema, { onExcessProperty: "error" })(value)

// ---- The failures (slices.md §0.7, §0.8, §3.5) ------------------------------------------------

const E = (tag, fields) => class extends Schema.TaggedError()(tag, fields) {}
const Unauthorized = E("Unauthorized", { message: Schema.String })
const Forbidden = E("Forbidden", { message: Schema.String })
const ValidationError = E("ValidationError", { message: Schema.String, path: Schema.optional(Schema.String) })
const ConflictError = E("ConflictError", { constraint: Schema.String, message: Schema.String })
const VersionConflictError = E("VersionConflictError", {
  id: Schema.String, expectedVersion: Schema.Int, actualVersion: Schema.Int
})
const DocumentNotFoundError = E("DocumentNotFoundError", { id: Schema.String })
const DiscussionNotFoundError = E("DiscussionNotFoundError", { id: Schema.String })
const CommentNotFoundError = E("CommentNotFoundError", { id: Schema.String })
const DocumentVersionNotFoundError = E("DocumentVersionNotFoundError", { id: Schema.String })
const WithId = { id: Schema.String, message: Schema.String }
const DocumentPermissionDeniedError = E("DocumentPermissionDeniedError", WithId)
const DocumentLockedError = E("DocumentLockedError", WithId)
const DocumentArchivedError = E("DocumentArchivedError", WithId)
const PermissionDeniedError = E("PermissionDeniedError", WithId)

const fails = (...errors) => Schema.Union(Unauthorized, Forbidden, ...errors)
const none = fails(ValidationError) // streams: only the cursor rule of Document.list
const flag = fails(DocumentNotFoundError, DocumentPermissionDeniedError, DocumentArchivedError)
const unary = (tag, error) => Rpc.make(tag, { payload: Schema.Unknown, success: Schema.Unknown, error })
const stream = (tag) => Rpc.make(tag, { payload: Schema.Unknown, success: Schema.Unknown, error: none, stream: true })

const DocumentsRpcs = RpcGroup.make(
  unary("Document.get", fails(DocumentNotFoundError)),
  stream("Document.listByUser"),
  stream("Document.list"),
  stream("Document.listTrash"),
  stream("Document.listChildren"),
  stream("Document.search"),
  unary("Document.create", fails(DocumentNotFoundError, ConflictError, ValidationError)),
  unary("Document.update", fails(
    DocumentNotFoundError, DocumentPermissionDeniedError, DocumentLockedError, DocumentArchivedError,
    VersionConflictError, ValidationError
  )),
  unary("Document.archive", flag),
  unary("Document.restore", flag),
  unary("Document.publish", flag),
  unary("Document.unpublish", flag),
  unary("Document.lock", flag),
  unary("Document.unlock", flag),
  unary("Document.delete", fails(DocumentNotFoundError, DocumentPermissionDeniedError)),
  unary("Discussion.get", fails(DiscussionNotFoundError)),
  stream("Discussion.listByDocument"),
  unary("Discussion.create", fails(DocumentNotFoundError, ValidationError)),
  unary("Discussion.createWithComment", fails(DocumentNotFoundError, ConflictError, ValidationError)),
  unary("Discussion.resolve", fails(DiscussionNotFoundError)),
  unary("Discussion.unresolve", fails(DiscussionNotFoundError)),
  unary("Discussion.delete", fails(DiscussionNotFoundError, PermissionDeniedError)),
  unary("Comment.get", fails(CommentNotFoundError)),
  stream("Comment.listByDiscussion"),
  unary("Comment.create", fails(DiscussionNotFoundError, ValidationError)),
  unary("Comment.update", fails(CommentNotFoundError, PermissionDeniedError, ValidationError)),
  unary("Comment.delete", fails(CommentNotFoundError, PermissionDeniedError)),
  unary("DocumentVersion.get", fails(DocumentVersionNotFoundError)),
  unary("DocumentVersion.getContent", fails(DocumentVersionNotFoundError)),
  stream("DocumentVersion.listByDocument"),
  unary("DocumentVersion.createSnapshot", fails(DocumentNotFoundError, ValidationError)),
  unary("DocumentVersion.hardDelete", fails(DocumentVersionNotFoundError, PermissionDeniedError))
)

const protocol = (transport, token) => {
  const url = base + "/v1/documents/rpc"
  const headers = { authorization: `Bearer ${token}` }
  if (transport === "websocket-ndjson") {
    return RpcClient.layerProtocolSocket().pipe(
      Layer.provide(Socket.layerWebSocket(url.replace(/^http/, "ws"))),
      Layer.provide(Layer.succeed(Socket.WebSocketConstructor, (u, p) => new WebSocket(u, p, { headers }))),
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
    const client = yield* RpcClient.make(DocumentsRpcs)
    return yield* use(client)
  }).pipe(Effect.scoped, Effect.provide(protocol(transport, token)))

const failureOf = (effect) =>
  effect.pipe(
    Effect.map(() => "no error"),
    Effect.catchAll((e) => {
      const { _tag, ...fields } = e
      return Effect.succeed({ tag: _tag, typed: e instanceof Error, ...fields })
    })
  )
const all = (s, schema) => Stream.runCollect(s).pipe(Effect.map((c) => Chunk.toReadonlyArray(c).map(strict(schema))))
const idsOf = (rows) => rows.map((row) => row.id)

const observe = (transport) =>
  Effect.gen(function*() {
    const word = `zebracorn${transport.replace(/[^a-z]/g, "")}`
    const ada = yield* withClient(transport, tokenA, (c) =>
      Effect.gen(function*() {
        const doc = (fields) => c.Document.create({ organizationId: orgA, ...fields }).pipe(Effect.map(strict(Document)))
        const root = yield* doc({ title: `Handbook ${word}`, content: "How we work." })
        const child = yield* doc({ title: "Onboarding", content: `First week: meet the ${word} team.`, parentDocumentId: root.id })
        const grandchild = yield* doc({ title: "Laptop", parentDocumentId: child.id, contentRich: { root: { children: [] } } })
        const got = strict(Document)(yield* c.Document.get({ id: root.id }))
        const updated = strict(Document)(yield* c.Document.update({
          id: root.id, version: got.version, icon: "📘", textStyle: "serif", yjsSnapshot: "AAEC", coverImage: null
        }))
        const stale = yield* failureOf(c.Document.update({ id: root.id, version: got.version, title: "lost" }))
        const locked = strict(Document)(yield* c.Document.lock({ id: root.id }))
        const refused = yield* failureOf(c.Document.update({ id: root.id, title: "while locked" }))
        const unlockedInCall = strict(Document)(yield* c.Document.update({ id: root.id, lockPage: false, title: `Handbook ${word} v2` }))
        const published = strict(Document)(yield* c.Document.publish({ id: root.id }))
        const publishedAgain = strict(Document)(yield* c.Document.publish({ id: root.id }))
        const children = yield* all(c.Document.listChildren({ parentDocumentId: root.id }), Document)
        const roots = yield* all(c.Document.list({ organizationId: orgA, limit: 200 }), Document)
        const firstPage = yield* all(c.Document.list({ organizationId: orgA, parentDocumentId: child.id, limit: 1 }), Document)
        const byUser = yield* all(c.Document.listByUser({ organizationId: orgA, userId: userA }), Document)
        const cycle = yield* failureOf(c.Document.update({ id: root.id, parentDocumentId: grandchild.id }))
        const tooLong = yield* failureOf(c.Document.create({ organizationId: orgA, title: "x".repeat(501) }))
        const foreignOrg = yield* failureOf(c.Document.create({ organizationId: orgB, title: "x" }))

        const thread = strict(Created("documents_discussion"))(yield* c.Discussion.createWithComment({
          organizationId: orgA, documentId: child.id, documentContent: "meet the team",
          contentRich: [{ type: "paragraph", children: [{ text: "Who is " }, { text: "the team?" }] }]
        }))
        const reply = strict(Comment)(yield* c.Comment.create({ organizationId: orgA, discussionId: thread.id, content: "Everyone." }))
        const edited = strict(Comment)(yield* c.Comment.update({ id: reply.id, content: "Everyone, really." }))
        const comment = strict(Comment)(yield* c.Comment.get({ id: reply.id }))
        const comments = yield* all(c.Comment.listByDiscussion({ discussionId: thread.id }), Comment)
        const resolved = strict(Discussion)(yield* c.Discussion.resolve({ id: thread.id }))
        const discussion = strict(DiscussionWithComments)(yield* c.Discussion.get({ id: thread.id }))
        const threads = yield* all(c.Discussion.listByDocument({ documentId: child.id }), DiscussionWithComments)
        const second = strict(Created("documents_discussion"))(yield* c.Discussion.create({
          organizationId: orgA, documentId: child.id, documentContent: "First week"
        }))
        const unresolved = strict(Discussion)(yield* c.Discussion.unresolve({ id: second.id }))
        yield* c.Discussion.delete({ id: second.id })
        const deletedComment = yield* c.Comment.delete({ id: reply.id })

        const snapshot = strict(Snapshot)(yield* c.DocumentVersion.createSnapshot({ organizationId: orgA, documentId: child.id }))
        const version = strict(VersionWithUser)(yield* c.DocumentVersion.get({ id: snapshot.data.id }))
        const content = strict(VersionContent)(yield* c.DocumentVersion.getContent({ id: snapshot.data.id, organizationId: orgA }))
        const extra = strict(Snapshot)(yield* c.DocumentVersion.createSnapshot({ organizationId: orgA, documentId: child.id, content: "given" }))
        const versions = yield* all(c.DocumentVersion.listByDocument({ documentId: child.id }), VersionWithUser)
        yield* c.DocumentVersion.hardDelete({ id: extra.data.id })

        const hits = yield* all(c.Document.search({ organizationId: orgA, query: `${word} -nothing` }), SearchHit)
        const phrase = yield* all(c.Document.search({ organizationId: orgA, query: `"meet the ${word}"` }), SearchHit)
        const hostile = yield* all(c.Document.search({ organizationId: orgA, query: `NEAR(${word} "*:` }), SearchHit)

        const trashed = strict(Document)(yield* c.Document.archive({ id: grandchild.id }))
        const trash = yield* all(c.Document.listTrash({ organizationId: orgA, search: "lap" }), Document)
        const archivedRefusal = yield* failureOf(c.Document.publish({ id: grandchild.id }))
        const restored = strict(Document)(yield* c.Document.restore({ id: grandchild.id }))
        const unpublished = strict(Document)(yield* c.Document.unpublish({ id: root.id }))
        const unlocked = strict(Document)(yield* c.Document.unlock({ id: root.id }))
        return {
          root, child, grandchild, updated, stale, locked, refused, unlockedInCall, published, publishedAgain,
          childIds: idsOf(children), rootIds: idsOf(roots), firstPageIds: idsOf(firstPage), byUserIds: idsOf(byUser),
          cycle, tooLong, foreignOrg,
          thread, edited, comment, commentIds: idsOf(comments), resolved, discussion, threadIds: idsOf(threads),
          unresolved, deletedComment: deletedComment === undefined ? "void" : deletedComment,
          snapshot, version, content, versionIds: idsOf(versions), extraId: extra.data.id,
          hitIds: idsOf(hits), hits, phraseIds: idsOf(phrase), hostileCount: hostile.length,
          trashed, trashIds: idsOf(trash), archivedRefusal, restored, unpublished, unlocked
        }
      }))
    const bea = yield* withClient(transport, tokenB, (c) =>
      Effect.gen(function*() {
        return {
          get: yield* failureOf(c.Document.get({ id: ada.root.id })),
          update: yield* failureOf(c.Document.update({ id: ada.root.id, title: "mine" })),
          remove: yield* failureOf(c.Document.delete({ id: ada.root.id })),
          discussion: yield* failureOf(c.Discussion.get({ id: ada.thread.id })),
          version: yield* failureOf(c.DocumentVersion.getContent({ id: ada.snapshot.data.id, organizationId: orgB })),
          hits: idsOf(yield* all(c.Document.search({ organizationId: orgB, query: word }), SearchHit)),
          children: idsOf(yield* all(c.Document.listChildren({ parentDocumentId: ada.root.id }), Document))
        }
      }))
    const end = yield* withClient(transport, tokenA, (c) =>
      Effect.gen(function*() {
        const deleted = yield* c.Document.delete({ id: ada.root.id })
        return {
          deleted: deleted === undefined ? "void" : deleted,
          child: yield* failureOf(c.Document.get({ id: ada.child.id })),
          grandchild: yield* failureOf(c.Document.get({ id: ada.grandchild.id })),
          discussion: yield* failureOf(c.Discussion.get({ id: ada.thread.id })),
          version: yield* failureOf(c.DocumentVersion.get({ id: ada.snapshot.data.id })),
          hits: idsOf(yield* all(c.Document.search({ organizationId: orgA, query: word }), SearchHit)),
          vanishedCursor: yield* failureOf(Stream.runCollect(c.Document.list({ organizationId: orgA, cursor: ada.root.id })))
        }
      }))
    return { transport, word, ...ada, bea, end }
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
