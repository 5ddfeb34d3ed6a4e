var __defProp = Object.defineProperty;
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};

// src/CallEvent.ts
import * as Effect from "effect/Effect";
import * as FiberRef from "effect/FiberRef";
import { dual } from "effect/Function";
var currentListeners = FiberRef.unsafeMake([]);
var emit = (event) => Effect.flatMap(FiberRef.get(currentListeners), (listeners) => {
  if (listeners.length === 0) return Effect.void;
  if (listeners.length === 1) return listeners[0](event);
  return Effect.forEach(listeners, (listener) => listener(event), { discard: true });
});
var isListening = Effect.map(
  FiberRef.get(currentListeners),
  (listeners) => listeners.length > 0
);
var listen = dual(
  2,
  (self, listener) => Effect.locallyWith(self, currentListeners, (listeners) => [...listeners, listener])
);

// src/LanguageModel.ts
var LanguageModel_exports = {};
__export(LanguageModel_exports, {
  LanguageModel: () => LanguageModel,
  TypeId: () => TypeId,
  generate: () => generate,
  generateObject: () => generateObject,
  generateObjectWith: () => generateObjectWith,
  isLanguageModel: () => isLanguageModel,
  layer: () => layer,
  make: () => make2,
  provideContext: () => provideContext2,
  stream: () => stream,
  transform: () => transform
});
import * as Context2 from "effect/Context";
import * as Effect3 from "effect/Effect";
import { dual as dual2 } from "effect/Function";
import * as JSONSchema from "effect/JSONSchema";
import * as Layer from "effect/Layer";
import * as ParseResult from "effect/ParseResult";
import { pipeArguments } from "effect/Pipeable";
import * as Schema2 from "effect/Schema";
import "effect/Stream";

// src/internal/stream.ts
import * as Channel from "effect/Channel";
import * as Context from "effect/Context";
import * as Effect2 from "effect/Effect";
import * as Stream from "effect/Stream";
var unwrap2 = (effect3) => Stream.fromChannel(Channel.unwrap(Effect2.map(effect3, Stream.toChannel)));
var provideSomeContext = (self, context4) => unwrap2(
  Effect2.map(
    Effect2.context(),
    (parent) => Stream.provideContext(self, Context.merge(parent, context4))
  )
);

// src/LlmError.ts
import * as DateTime from "effect/DateTime";
import * as Duration from "effect/Duration";
import * as Predicate from "effect/Predicate";
import * as Schema from "effect/Schema";
var common = {
  provider: Schema.String,
  model: Schema.String,
  requestId: Schema.optional(Schema.String)
};
var suffix = (e) => ` (${e.provider}/${e.model}${e.requestId ? `, request ${e.requestId}` : ""})`;
var RateLimited = class extends Schema.TaggedError("@effect-llm/core/LlmError/RateLimited")(
  "RateLimited",
  {
    ...common,
    retryAfter: Schema.optional(Schema.DurationFromMillis),
    limit: Schema.optional(Schema.Literal("requests", "tokens", "unknown"))
  }
) {
  get message() {
    return `Rate limited${this.limit && this.limit !== "unknown" ? ` on ${this.limit}` : ""}${this.retryAfter ? `, retry after ${Duration.format(this.retryAfter)}` : ""}${suffix(this)}`;
  }
};
var QuotaExhausted = class extends Schema.TaggedError("@effect-llm/core/LlmError/QuotaExhausted")(
  "QuotaExhausted",
  { ...common, detail: Schema.optional(Schema.String) }
) {
  get message() {
    return `Quota exhausted${this.detail ? `: ${this.detail}` : ""}${suffix(this)}`;
  }
};
var ServerError = class extends Schema.TaggedError("@effect-llm/core/LlmError/ServerError")(
  "ServerError",
  { ...common, status: Schema.Number, detail: Schema.optional(Schema.String) }
) {
  get message() {
    return `Provider server error ${this.status}${this.detail ? `: ${this.detail}` : ""}${suffix(this)}`;
  }
};
var Overloaded = class extends Schema.TaggedError("@effect-llm/core/LlmError/Overloaded")(
  "Overloaded",
  { ...common, status: Schema.Number }
) {
  get message() {
    return `Provider overloaded (${this.status})${suffix(this)}`;
  }
};
var ConnectionError = class extends Schema.TaggedError(
  "@effect-llm/core/LlmError/ConnectionError"
)(
  "ConnectionError",
  { ...common, detail: Schema.String }
) {
  get message() {
    return `Connection failed: ${this.detail}${suffix(this)}`;
  }
};
var Timeout = class extends Schema.TaggedError("@effect-llm/core/LlmError/Timeout")(
  "Timeout",
  {
    ...common,
    phase: Schema.Literal("connect", "first-token", "idle", "total"),
    after: Schema.DurationFromMillis
  }
) {
  get message() {
    return `Timed out in phase ${this.phase} after ${Duration.format(this.after)}${suffix(this)}`;
  }
};
var InvalidRequest = class extends Schema.TaggedError("@effect-llm/core/LlmError/InvalidRequest")(
  "InvalidRequest",
  {
    ...common,
    status: Schema.Number,
    param: Schema.optional(Schema.String),
    detail: Schema.optional(Schema.String)
  }
) {
  get message() {
    return `Invalid request (${this.status})${this.param ? ` at ${this.param}` : ""}${this.detail ? `: ${this.detail}` : ""}${suffix(this)}`;
  }
};
var AuthenticationFailed = class extends Schema.TaggedError(
  "@effect-llm/core/LlmError/AuthenticationFailed"
)(
  "AuthenticationFailed",
  { ...common, status: Schema.Number }
) {
  get message() {
    return `Authentication failed (${this.status})${suffix(this)}`;
  }
};
var ContextLengthExceeded = class extends Schema.TaggedError(
  "@effect-llm/core/LlmError/ContextLengthExceeded"
)(
  "ContextLengthExceeded",
  { ...common, limit: Schema.optional(Schema.Number), requested: Schema.optional(Schema.Number) }
) {
  get message() {
    return `Context length exceeded${this.requested !== void 0 || this.limit !== void 0 ? `: ${this.requested ?? "?"} tokens requested, limit ${this.limit ?? "?"}` : ""}${suffix(this)}`;
  }
};
var ContentFiltered = class extends Schema.TaggedError(
  "@effect-llm/core/LlmError/ContentFiltered"
)(
  "ContentFiltered",
  {
    ...common,
    stage: Schema.Literal("input", "output"),
    category: Schema.optional(Schema.String),
    refusal: Schema.optional(Schema.String)
  }
) {
  get message() {
    return `Content filtered at ${this.stage}${this.category ? ` (${this.category})` : ""}${suffix(this)}`;
  }
};
var MalformedResponse = class extends Schema.TaggedError(
  "@effect-llm/core/LlmError/MalformedResponse"
)(
  "MalformedResponse",
  { ...common, detail: Schema.String }
) {
  get message() {
    return `Malformed response: ${this.detail}${suffix(this)}`;
  }
};
var MalformedOutput = class extends Schema.TaggedError("@effect-llm/core/LlmError/MalformedOutput")(
  "MalformedOutput",
  { ...common, raw: Schema.String, issue: Schema.String }
) {
  get message() {
    return `Model output does not match the schema: ${this.issue}${suffix(this)}`;
  }
};
var StreamInterrupted = class extends Schema.TaggedError(
  "@effect-llm/core/LlmError/StreamInterrupted"
)(
  "StreamInterrupted",
  { ...common, partialText: Schema.String, detail: Schema.String }
) {
  get message() {
    return `Stream interrupted after ${this.partialText.length} characters: ${this.detail}${suffix(this)}`;
  }
};
var BudgetExceeded = class extends Schema.TaggedError("@effect-llm/core/LlmError/BudgetExceeded")(
  "BudgetExceeded",
  {
    ...common,
    scope: Schema.String,
    unit: Schema.Literal("tokens", "usd"),
    limit: Schema.Number,
    spent: Schema.Number,
    requested: Schema.Number
  }
) {
  get message() {
    return `Budget ${this.scope} exceeded: ${this.spent} ${this.unit} spent + ${this.requested} requested > ${this.limit}${suffix(this)}`;
  }
};
var CircuitOpen = class extends Schema.TaggedError("@effect-llm/core/LlmError/CircuitOpen")(
  "CircuitOpen",
  { ...common, retryAt: Schema.DateTimeUtcFromNumber }
) {
  get message() {
    return `Circuit open until ${DateTime.formatIso(this.retryAt)}${suffix(this)}`;
  }
};
var LlmError = Schema.Union(
  RateLimited,
  QuotaExhausted,
  ServerError,
  Overloaded,
  ConnectionError,
  Timeout,
  InvalidRequest,
  AuthenticationFailed,
  ContextLengthExceeded,
  ContentFiltered,
  MalformedResponse,
  StreamInterrupted,
  MalformedOutput,
  BudgetExceeded,
  CircuitOpen
);
var tags = [
  "RateLimited",
  "QuotaExhausted",
  "ServerError",
  "Overloaded",
  "ConnectionError",
  "Timeout",
  "InvalidRequest",
  "AuthenticationFailed",
  "ContextLengthExceeded",
  "ContentFiltered",
  "MalformedResponse",
  "StreamInterrupted",
  "MalformedOutput",
  "BudgetExceeded",
  "CircuitOpen"
];
var tagSet = new Set(tags);

// src/LanguageModel.ts
var TypeId = /* @__PURE__ */ Symbol.for("@effect-llm/core/LanguageModel");
var LanguageModel = class extends Context2.Tag("@effect-llm/core/LanguageModel")() {
};
var Proto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments);
  }
};
var make2 = (options) => {
  const self = Object.create(Proto);
  self.provider = options.provider;
  self.model = options.model;
  self.generate = options.generate;
  self.stream = options.stream;
  if (options.enforcesDeadlines === true) self.enforcesDeadlines = true;
  return self;
};
var isLanguageModel = (u) => typeof u === "object" && u !== null && TypeId in u;
var transform = dual2(2, (self, f) => make2({
  provider: self.provider,
  model: self.model,
  generate: f.generate(self.generate),
  stream: f.stream(self.stream),
  enforcesDeadlines: self.enforcesDeadlines === true && f.keepsDeadlines === true
}));
var provideContext2 = dual2(2, (self, context4) => (
  // nothing to provide (a model whose calls require nothing): the same model, no work per call
  context4.unsafeMap.size === 0 ? self : make2({
    provider: self.provider,
    model: self.model,
    generate: (request) => Effect3.provide(self.generate(request), context4),
    // over the caller's context, as `Effect.provide` does for `generate`
    stream: (request) => provideSomeContext(self.stream(request), context4),
    enforcesDeadlines: self.enforcesDeadlines
  })
));
var layer = (model) => Layer.effect(
  LanguageModel,
  Effect3.map(Effect3.context(), (context4) => provideContext2(model, context4))
);
var generate = (request) => Effect3.flatMap(LanguageModel, (model) => model.generate(request));
var stream = (request) => unwrap2(Effect3.map(LanguageModel, (model) => model.stream(request)));
var stripFences = (text) => {
  const trimmed = text.trim();
  const fenced = /^```(?:json)?\s*([\s\S]*?)\s*```$/.exec(trimmed);
  return fenced ? fenced[1] : trimmed;
};
var decodeObject = (schema, completion2) => {
  const decode3 = Schema2.decodeUnknown(Schema2.parseJson(schema));
  return decode3(stripFences(completion2.text)).pipe(
    Effect3.mapError(
      (error) => new MalformedOutput({
        provider: completion2.provider,
        model: completion2.model,
        ...completion2.requestId !== void 0 ? { requestId: completion2.requestId } : {},
        raw: completion2.text,
        issue: ParseResult.TreeFormatter.formatErrorSync(error)
      })
    )
  );
};
var generateObjectWith = dual2(2, (self, options) => {
  const { repair, schema, schemaName, ...rest } = options;
  const request = {
    ...rest,
    responseFormat: {
      type: "json",
      name: schemaName ?? "response",
      schema: JSONSchema.make(schema)
    }
  };
  const attempt = (req2) => Effect3.flatMap(
    self.generate(req2),
    (completion2) => Effect3.map(decodeObject(schema, completion2), (value2) => ({ value: value2, completion: completion2 }))
  );
  const first = attempt(request);
  if (!repair) return first;
  return Effect3.catchIf(
    first,
    (e) => e._tag === "MalformedOutput",
    (e) => attempt({
      ...request,
      messages: [
        ...request.messages,
        { role: "assistant", content: e.raw },
        {
          role: "user",
          content: `Your answer did not match the required JSON schema:
${e.issue}
Answer again with only the corrected JSON.`
        }
      ]
    })
  );
});
var generateObject = (options) => Effect3.flatMap(LanguageModel, (model) => generateObjectWith(model, options));

// src/Cache.ts
var Cache_exports = {};
__export(Cache_exports, {
  bypasses: () => bypasses,
  hitRate: () => hitRate,
  hits: () => hits,
  isDeterministic: () => isDeterministic,
  layer: () => layer2,
  misses: () => misses,
  savedUsd: () => savedUsd,
  withCache: () => withCache,
  withStore: () => withStore
});
import * as Context4 from "effect/Context";
import * as Duration3 from "effect/Duration";
import * as Effect6 from "effect/Effect";
import * as Exit2 from "effect/Exit";
import { dual as dual3 } from "effect/Function";
import * as Layer3 from "effect/Layer";
import * as Metric from "effect/Metric";
import * as Option3 from "effect/Option";
import * as Stream4 from "effect/Stream";

// src/CacheKey.ts
import * as Crypto from "node:crypto";

// src/internal/cacheEncoding.ts
var encodeNumber = (n2) => {
  if (n2 === 0) return "0";
  if (Number.isFinite(n2)) return JSON.stringify(n2);
  return Number.isNaN(n2) ? '"NaN"' : n2 > 0 ? '"Infinity"' : '"-Infinity"';
};
var encodeValue = (value2) => {
  switch (typeof value2) {
    case "string":
      return JSON.stringify(value2);
    case "number":
      return encodeNumber(value2);
    case "boolean":
      return value2 ? "true" : "false";
    case "bigint":
      return `"${value2.toString()}n"`;
    case "undefined":
    case "function":
    case "symbol":
      return "null";
    case "object": {
      if (value2 === null) return "null";
      if (Array.isArray(value2)) {
        let out = "[";
        for (let i = 0; i < value2.length; i++) {
          if (i > 0) out += ",";
          out += encodeValue(value2[i]);
        }
        return out + "]";
      }
      return encodeObject(value2, void 0);
    }
  }
};
var keyCache = /* @__PURE__ */ new Map();
var encodeKey = (key) => {
  let encoded = keyCache.get(key);
  if (encoded === void 0) {
    encoded = JSON.stringify(key) + ":";
    if (keyCache.size < 1e3) keyCache.set(key, encoded);
  }
  return encoded;
};
var encodeObject = (value2, skip2) => {
  const keys = Object.keys(value2);
  if (keys.length > 1) keys.sort();
  let out = "{";
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (skip2 !== void 0 && skip2.has(key)) continue;
    const field = value2[key];
    if (field === void 0 || typeof field === "function" || typeof field === "symbol") continue;
    if (first) first = false;
    else out += ",";
    out += encodeKey(key) + encodeValue(field);
  }
  return out + "}";
};

// src/CacheKey.ts
var version = 1;
var ignoredFields = ["user", "feature", "metadata", "cache"];
var skip = /* @__PURE__ */ new Set([...ignoredFields, "model"]);
var prefix = `effect-llm/cache/v${version}
`;
var scopeOf = (request, options) => request.cache?.scope ?? options?.scope ?? "global";
var namespaceOf = (request, options) => request.cache?.namespace ?? options?.namespace;
var encode = (model, request, options) => {
  const namespace = namespaceOf(request, options);
  const user = scopeOf(request, options) === "user";
  let out = prefix + '{"model":' + JSON.stringify(request.model ?? model.model);
  if (namespace !== void 0) out += ',"namespace":' + JSON.stringify(namespace);
  out += ',"provider":' + JSON.stringify(model.provider);
  out += ',"request":' + encodeObject(request, skip);
  if (user) {
    out += ',"scope":"user"';
    if (request.user !== void 0) out += ',"user":' + JSON.stringify(request.user);
  }
  return out + "}";
};
var hash2 = typeof Crypto.hash === "function" ? (encoded) => Crypto.hash("sha256", encoded, "hex") : (encoded) => Crypto.createHash("sha256").update(encoded, "utf8").digest("hex");
var make3 = (model, request, options) => {
  const digest = hash2(encode(model, request, options));
  const namespace = namespaceOf(request, options);
  return namespace === void 0 ? digest : `${namespace}:${digest}`;
};

// src/CacheStore.ts
var CacheStore_exports = {};
__export(CacheStore_exports, {
  CacheStore: () => CacheStore,
  CacheStoreError: () => CacheStoreError,
  Entry: () => Entry,
  EntryFromJson: () => EntryFromJson,
  decodeJson: () => decodeJson,
  encodeJson: () => encodeJson,
  entryBytes: () => entryBytes,
  layerMemory: () => layerMemory,
  makeMemory: () => makeMemory
});
import * as Context3 from "effect/Context";
import * as Duration2 from "effect/Duration";
import * as Effect4 from "effect/Effect";
import * as Layer2 from "effect/Layer";
import * as Option from "effect/Option";
import * as Schema4 from "effect/Schema";

// src/Completion.ts
import * as Schema3 from "effect/Schema";
var FinishReason = Schema3.Literal("stop", "length", "content-filter", "tool-calls", "other");
var Usage = Schema3.Struct({
  inputTokens: Schema3.Number,
  cachedInputTokens: Schema3.Number,
  cacheWriteInputTokens: Schema3.Number,
  outputTokens: Schema3.Number,
  reasoningTokens: Schema3.Number
});
var emptyUsage = {
  inputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0
};
var Attempt = Schema3.Struct({
  provider: Schema3.String,
  model: Schema3.String,
  outcome: Schema3.String,
  durationMillis: Schema3.optional(Schema3.Number)
});
var CacheStatus = Schema3.Literal("hit", "miss", "bypass");
var RateLimitInfo = Schema3.Struct({
  limitRequests: Schema3.optional(Schema3.Number),
  remainingRequests: Schema3.optional(Schema3.Number),
  resetRequestsMillis: Schema3.optional(Schema3.Number),
  limitTokens: Schema3.optional(Schema3.Number),
  remainingTokens: Schema3.optional(Schema3.Number),
  resetTokensMillis: Schema3.optional(Schema3.Number)
});
var Completion = Schema3.Struct({
  text: Schema3.String,
  finishReason: FinishReason,
  usage: Usage,
  /** Cost in USD from the pricing catalog, when a catalog priced it. */
  costUsd: Schema3.optional(Schema3.Number),
  provider: Schema3.String,
  /** The model that was asked for. */
  model: Schema3.String,
  /** The model the provider says served the call (often a dated snapshot). */
  servedModel: Schema3.String,
  responseId: Schema3.optional(Schema3.String),
  requestId: Schema3.optional(Schema3.String),
  rateLimit: Schema3.optional(RateLimitInfo),
  /** Every model call made for this completion, in order; the last one answered. */
  attempts: Schema3.Array(Attempt),
  cache: Schema3.optional(CacheStatus),
  tier: Schema3.optional(Schema3.String)
});

// src/CacheStore.ts
var Entry = Schema4.Struct({
  completion: Completion,
  chunks: Schema4.optional(Schema4.Array(Schema4.String)),
  delays: Schema4.optional(Schema4.Array(Schema4.Number)),
  storedAt: Schema4.Number
});
var EntryFromJson = Schema4.parseJson(Entry);
var encodeJson = Schema4.encodeSync(EntryFromJson);
var decodeJson = (text) => Effect4.mapError(
  Schema4.decode(EntryFromJson)(text),
  (error) => new CacheStoreError({ operation: "get", detail: error.message })
);
var entryBytes = (entry) => Buffer.byteLength(JSON.stringify(entry), "utf8");
var CacheStoreError = class extends Schema4.TaggedError("@effect-llm/core/CacheStore/CacheStoreError")(
  "CacheStoreError",
  {
    operation: Schema4.Literal("get", "set", "delete"),
    detail: Schema4.String
  }
) {
  /**
   * @since 0.1.0
   */
  get message() {
    return `cache store ${this.operation} failed: ${this.detail}`;
  }
};
var CacheStore = class extends Context3.Tag("@effect-llm/core/CacheStore")() {
};
var makeMemory = (options) => {
  const maxEntries = Math.max(1, options?.maxEntries ?? 1e3);
  const maxBytes = Math.max(0, options?.maxBytes ?? 64 * 1024 * 1024);
  const slots = /* @__PURE__ */ new Map();
  let bytes = 0;
  const remove = (key) => {
    const slot = slots.get(key);
    if (slot === void 0) return;
    slots.delete(key);
    bytes -= slot.bytes;
  };
  const evict = () => {
    for (const key of slots.keys()) {
      if (slots.size <= maxEntries && bytes <= maxBytes) return;
      remove(key);
    }
  };
  return {
    get: (key) => Effect4.clockWith(
      (clock) => Effect4.sync(() => {
        const slot = slots.get(key);
        if (slot === void 0) return Option.none();
        if (slot.expiresAt <= clock.unsafeCurrentTimeMillis()) {
          remove(key);
          return Option.none();
        }
        slots.delete(key);
        slots.set(key, slot);
        return Option.some(slot.entry);
      })
    ),
    set: (key, entry, ttl) => Effect4.clockWith(
      (clock) => Effect4.sync(() => {
        remove(key);
        const millis = Duration2.toMillis(ttl);
        if (!(millis > 0)) return;
        const size = entryBytes(entry);
        if (size > maxBytes) return;
        const now = clock.unsafeCurrentTimeMillis();
        slots.set(key, { entry, expiresAt: now + millis, bytes: size });
        bytes += size;
        evict();
      })
    ),
    delete: (key) => Effect4.sync(() => remove(key))
  };
};
var layerMemory = (options) => Layer2.sync(CacheStore, () => makeMemory(options));

// src/internal/cacheFlight.ts
import * as Cause from "effect/Cause";
import * as Chunk from "effect/Chunk";
import * as Deferred from "effect/Deferred";
import * as Effect5 from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Fiber from "effect/Fiber";
import * as FiberId from "effect/FiberId";
import * as Option2 from "effect/Option";
import * as Stream3 from "effect/Stream";

// src/StreamEvent.ts
import * as Schema5 from "effect/Schema";
var TextDelta = Schema5.TaggedStruct("TextDelta", { text: Schema5.String });
var Finish = Schema5.TaggedStruct("Finish", { completion: Completion });
var StreamEvent = Schema5.Union(TextDelta, Finish);
var textDelta = (text) => ({ _tag: "TextDelta", text });
var finish = (completion2) => ({ _tag: "Finish", completion: completion2 });

// src/internal/cacheFlight.ts
var newWaiter = () => ({ _: "Waiter" });
var notify = (flight) => {
  const signal = flight.signal;
  if (signal !== void 0) {
    flight.signal = void 0;
    Deferred.unsafeDone(signal, Exit.void);
  }
};
var join = (flight) => {
  const waiter = newWaiter();
  flight.waiters.add(waiter);
  return waiter;
};
var start = (registry, key, kind, run, after) => Effect5.suspend(() => {
  const waiter = newWaiter();
  const flight = {
    key,
    kind,
    chunks: [],
    delays: [],
    exit: void 0,
    done: Deferred.unsafeMake(FiberId.none),
    signal: void 0,
    waiters: /* @__PURE__ */ new Set([waiter]),
    payer: waiter,
    fiber: void 0
  };
  registry.set(key, flight);
  const body = Effect5.flatMap(Effect5.exit(Effect5.interruptible(Effect5.suspend(() => run(flight)))), (exit2) => {
    flight.exit = exit2;
    Deferred.unsafeDone(flight.done, exit2);
    notify(flight);
    return Effect5.ensuring(
      after(flight, exit2),
      Effect5.sync(() => {
        if (registry.get(key) === flight) registry.delete(key);
      })
    );
  });
  return Effect5.map(Effect5.forkDaemon(body), (fiber) => {
    flight.fiber = fiber;
    return { flight, waiter };
  });
});
var leave = (registry, flight, waiter) => Effect5.suspend(() => {
  flight.waiters.delete(waiter);
  if (flight.exit !== void 0) return Effect5.void;
  if (flight.payer === waiter) {
    flight.payer = void 0;
    for (const next of flight.waiters) {
      flight.payer = next;
      break;
    }
  }
  if (flight.waiters.size > 0) return Effect5.void;
  if (registry.get(flight.key) === flight) registry.delete(flight.key);
  const fiber = flight.fiber;
  return fiber === void 0 ? Effect5.void : Effect5.asVoid(Fiber.interrupt(fiber));
});
var statusOf = (flight, waiter) => flight.payer === waiter ? "miss" : "hit";
var awaitCompletion = (registry, flight, waiter, restore) => Effect5.flatMap(
  Effect5.ensuring(restore(Deferred.await(flight.done)), leave(registry, flight, waiter)),
  (completion2) => completion2 === void 0 ? Effect5.dieMessage("effect-llm: the shared stream ended without a Finish event") : Effect5.succeed(completion2)
);
var read = (flight, finish2) => {
  let index = 0;
  let ended = false;
  const pull = () => {
    if (ended) return Effect5.fail(Option2.none());
    const chunks = flight.chunks;
    const available = chunks.length;
    if (index < available) {
      const out = [];
      for (; index < available; index++) out.push(textDelta(chunks[index]));
      return Effect5.succeed(Chunk.unsafeFromArray(out));
    }
    const exit2 = flight.exit;
    if (exit2 !== void 0) {
      ended = true;
      if (Exit.isFailure(exit2)) return Effect5.failCause(Cause.map(exit2.cause, Option2.some));
      const completion2 = exit2.value;
      if (completion2 === void 0) return Effect5.fail(Option2.none());
      const last = finish(finish2(completion2));
      return Effect5.succeed(
        flight.kind === "generate" && completion2.text.length > 0 ? Chunk.make(textDelta(completion2.text), last) : Chunk.of(last)
      );
    }
    let signal = flight.signal;
    if (signal === void 0) {
      signal = Deferred.unsafeMake(FiberId.none);
      flight.signal = signal;
    }
    return Effect5.flatMap(Deferred.await(signal), pull);
  };
  return Stream3.repeatEffectChunkOption(Effect5.suspend(pull));
};

// src/Cache.ts
var isDeterministic = (request) => request.temperature === 0 || request.seed !== void 0;
var hits = Metric.counter("effect_llm.cache.hits", {
  description: "Calls answered by the cache (stored answers and joined calls in flight)",
  incremental: true
});
var misses = Metric.counter("effect_llm.cache.misses", {
  description: "Cacheable calls that went upstream",
  incremental: true
});
var bypasses = Metric.counter("effect_llm.cache.bypasses", {
  description: "Calls the cache did not apply to",
  incremental: true
});
var savedUsd = Metric.counter("effect_llm.cache.saved_usd", {
  description: "USD not spent thanks to cache hits",
  incremental: true
});
var hitRate = Effect6.map(
  Effect6.zip(Metric.value(hits), Metric.value(misses)),
  ([h, m]) => h.count + m.count === 0 ? 0 : h.count / (h.count + m.count)
);
var noTags = [];
var withStatus = (completion2, status) => status === "hit" ? { ...completion2, cache: status, attempts: [] } : { ...completion2, cache: status };
var bypassed = (completion2) => completion2.cache === void 0 ? { ...completion2, cache: "bypass" } : completion2;
var stripStatus = (completion2) => {
  if (completion2.cache === void 0) return completion2;
  const { cache: _, ...rest } = completion2;
  return rest;
};
var defaultTtl = Duration3.hours(1);
var apply = (self, options, getStore) => {
  const provider = self.provider;
  const when = options?.when ?? "deterministic";
  const predicate = when === "deterministic" ? isDeterministic : when === "always" ? () => true : when;
  const cacheTruncated = options?.cacheTruncated ?? false;
  const replayPacing = options?.replayPacing ?? false;
  const ttl = options?.ttl === void 0 ? defaultTtl : Duration3.decode(options.ttl);
  const keyOptions = { scope: options?.scope, namespace: options?.namespace };
  const registry = /* @__PURE__ */ new Map();
  const applies = (request) => {
    if (request.cache?.mode === "bypass") return false;
    if (!predicate(request)) return false;
    return request.user !== void 0 || scopeOf(request, keyOptions) === "global";
  };
  const cacheable = (completion2) => completion2.finishReason === "stop" || completion2.finishReason === "tool-calls" || cacheTruncated && completion2.finishReason === "length";
  const report = (request, status, source) => Effect6.suspend(() => {
    if (status === "hit") hits.unsafeUpdate(1, noTags);
    else if (status === "miss") misses.unsafeUpdate(1, noTags);
    else bypasses.unsafeUpdate(1, noTags);
    return emit({
      _tag: "CacheLookup",
      status,
      provider,
      model: request.model ?? self.model,
      ...source !== void 0 ? { source } : {}
    });
  });
  const hit = (entry) => {
    if (entry.completion.costUsd !== void 0 && entry.completion.costUsd > 0) {
      savedUsd.unsafeUpdate(entry.completion.costUsd, noTags);
    }
    return withStatus(entry.completion, "hit");
  };
  const lookup = (store, key) => Effect6.catchAll(store.get(key), (error) => Effect6.as(
    Effect6.logWarning("effect-llm cache: read failed, treated as a miss", error.message),
    Option3.none()
  ));
  const after = (store, request) => (current, exit2) => {
    if (Exit2.isFailure(exit2) || exit2.value === void 0 || !cacheable(exit2.value)) return Effect6.void;
    const completion2 = exit2.value;
    return Effect6.clockWith((clock) => {
      const entry = current.kind === "stream" ? {
        completion: stripStatus(completion2),
        chunks: current.chunks,
        delays: current.delays,
        storedAt: clock.unsafeCurrentTimeMillis()
      } : { completion: stripStatus(completion2), storedAt: clock.unsafeCurrentTimeMillis() };
      const entryTtl = request.cache?.ttl ?? ttl;
      return Effect6.catchAll(
        store.set(current.key, entry, entryTtl),
        (error) => Effect6.logWarning("effect-llm cache: write failed", error.message)
      );
    });
  };
  const runGenerate = (generate2) => (request) => (_) => generate2(request);
  const runStream = (stream2) => (request) => (current) => Effect6.clockWith((clock) => {
    let last = clock.unsafeCurrentTimeMillis();
    let completion2;
    return Effect6.map(
      Stream4.runForEachChunk(stream2(request), (chunk) => Effect6.sync(() => {
        let pushed = false;
        for (const event of chunk) {
          if (completion2 !== void 0) break;
          if (event._tag === "TextDelta") {
            const now = clock.unsafeCurrentTimeMillis();
            current.chunks.push(event.text);
            current.delays.push(now - last);
            last = now;
            pushed = true;
          } else {
            completion2 = event.completion;
          }
        }
        if (pushed) notify(current);
      })),
      () => completion2
    );
  });
  const acquire = (store, request, key, kind, run) => Effect6.suspend(() => {
    const existing = registry.get(key);
    if (existing !== void 0) {
      const waiter = join(existing);
      return Effect6.as(report(request, "hit", "in-flight"), { flight: existing, waiter });
    }
    return Effect6.zipLeft(start(registry, key, kind, run, after(store, request)), report(request, "miss"));
  });
  const replay = (entry, completion2) => {
    const texts = entry.chunks ?? (entry.completion.text.length > 0 ? [entry.completion.text] : []);
    const last = finish(completion2);
    const delays = entry.delays;
    if (!replayPacing || delays === void 0 || entry.chunks === void 0) {
      const events = texts.map(textDelta);
      events.push(last);
      return Stream4.fromIterable(events);
    }
    if (texts.length === 0) return Stream4.succeed(last);
    const paced = Stream4.mapEffect(Stream4.range(0, texts.length - 1), (i) => {
      const delta = textDelta(texts[i]);
      const delay = delays[i] ?? 0;
      return delay > 0 ? Effect6.as(Effect6.sleep(delay), delta) : Effect6.succeed(delta);
    });
    return Stream4.concat(paced, Stream4.succeed(last));
  };
  return transform(self, {
    generate: (generate2) => {
      const run = runGenerate(generate2);
      return (request) => {
        if (!applies(request)) {
          return Effect6.zipRight(
            report(request, "bypass"),
            Effect6.map(generate2(request), bypassed)
          );
        }
        return Effect6.flatMap(getStore, (store) => {
          const key = make3(self, request, keyOptions);
          const shared = Effect6.uninterruptibleMask(
            (restore) => Effect6.flatMap(
              acquire(store, request, key, "generate", run(request)),
              ({ flight: current, waiter }) => Effect6.map(
                awaitCompletion(registry, current, waiter, restore),
                (completion2) => withStatus(completion2, statusOf(current, waiter))
              )
            )
          );
          if (request.cache?.mode === "refresh" || registry.has(key)) return shared;
          return Effect6.flatMap(lookup(store, key), (found) => {
            if (Option3.isNone(found)) return shared;
            return Effect6.as(report(request, "hit", "store"), hit(found.value));
          });
        });
      };
    },
    stream: (stream2) => {
      const run = runStream(stream2);
      return (request) => {
        if (!applies(request)) {
          return unwrap2(Effect6.as(
            report(request, "bypass"),
            Stream4.map(
              stream2(request),
              (event) => event._tag === "Finish" ? finish(bypassed(event.completion)) : event
            )
          ));
        }
        return Stream4.unwrapScoped(Effect6.flatMap(getStore, (store) => {
          const key = make3(self, request, keyOptions);
          const shared = Effect6.map(
            Effect6.acquireRelease(
              acquire(store, request, key, "stream", run(request)),
              ({ flight: current, waiter }) => leave(registry, current, waiter)
            ),
            ({ flight: current, waiter }) => read(current, (completion2) => withStatus(completion2, statusOf(current, waiter)))
          );
          if (request.cache?.mode === "refresh" || registry.has(key)) return shared;
          return Effect6.flatMap(lookup(store, key), (found) => {
            if (Option3.isNone(found)) return shared;
            return Effect6.as(report(request, "hit", "store"), replay(found.value, hit(found.value)));
          });
        }));
      };
    }
  });
};
var withCache = dual3(
  (args) => isLanguageModel(args[0]),
  (self, options) => apply(self, options, CacheStore)
);
var withStore = dual3(
  (args) => isLanguageModel(args[0]),
  (self, store, options) => apply(self, options, Effect6.succeed(store))
);
var layer2 = (options) => Layer3.effect(
  LanguageModel,
  Effect6.map(
    Effect6.context(),
    (context4) => withStore(Context4.get(context4, LanguageModel), Context4.get(context4, CacheStore), options)
  )
);

// ../../bench/tmp/cachemiss.ts
import { Effect as Effect7, Layer as Layer4, ManagedRuntime, Stream as Stream5 } from "effect";
var completion = { text: "hello world, this is an answer of a typical size for a short prompt.", finishReason: "stop", usage: { ...emptyUsage, inputTokens: 20, outputTokens: 12 }, provider: "openai", model: "gpt-5-mini", servedModel: "gpt-5-mini", attempts: [] };
var fake = LanguageModel_exports.make({
  provider: "openai",
  model: "gpt-5-mini",
  enforcesDeadlines: true,
  generate: () => Effect7.succeed(completion),
  stream: () => Stream5.empty
});
var base = LanguageModel_exports.layer(fake);
var cached = Cache_exports.layer().pipe(Layer4.provide(base), Layer4.provide(CacheStore_exports.layerMemory()));
var n = 0;
var req = () => ({ messages: [{ role: "user", content: `${n++} Summarise the benefits of typed errors in two sentences.` }], maxOutputTokens: 64, temperature: 0, user: "bench-user" });
for (const [name, layer3] of [["base", base], ["cache miss", cached], ["base", base], ["cache miss", cached]]) {
  const rt = ManagedRuntime.make(layer3);
  const model = await rt.runPromise(LanguageModel_exports.LanguageModel);
  const eff = Effect7.suspend(() => model.generate(req()));
  await rt.runPromise(Effect7.repeatN(eff, Number(process.env.WARM ?? 3e3)));
  const times = [];
  for (let r = 0; r < 7; r++) {
    const c = process.cpuUsage();
    await rt.runPromise(Effect7.repeatN(eff, 999));
    const d = process.cpuUsage(c);
    times.push((d.user + d.system) / 1e3);
  }
  times.sort((a, b) => a - b);
  console.log(name.padEnd(12), times[3].toFixed(1), "us/call cpu");
  await rt.dispose();
}
