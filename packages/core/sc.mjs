var __defProp = Object.defineProperty;
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};

// src/AlertSink.ts
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
var AlertSink = class extends Context.Tag("@effect-llm/core/AlertSink")() {
};
var logger = {
  send: (alert) => (alert.severity === "critical" ? Effect.logError(alert.message) : Effect.logWarning(alert.message)).pipe(
    Effect.annotateLogs({
      "alert.kind": alert.kind,
      "alert.key": alert.key,
      "alert.value": alert.value,
      "alert.threshold": alert.threshold
    })
  )
};
var layerLogger = Layer.succeed(AlertSink, logger);
var send = (alert) => Effect.flatMap(Effect.serviceOption(AlertSink), (sink) => Effect.catchAllCause(
  (Option.isSome(sink) ? sink.value : logger).send(alert),
  (cause) => Effect.logError("AlertSink failed", cause)
));

// src/BreakerStore.ts
var BreakerStore_exports = {};
__export(BreakerStore_exports, {
  BreakerStore: () => BreakerStore,
  conformance: () => conformance,
  defaultConfig: () => defaultConfig,
  layerMemory: () => layerMemory,
  makeMemory: () => makeMemory
});
import * as Context2 from "effect/Context";
import * as Effect2 from "effect/Effect";
import * as Layer2 from "effect/Layer";
var defaultConfig = {
  failureRateThreshold: 0.5,
  minimumCalls: 10,
  windowMillis: 6e4,
  cooldownMillis: 3e4,
  halfOpenProbes: 1
};
var BreakerStore = class extends Context2.Tag("@effect-llm/core/BreakerStore")() {
};
var BUCKETS = 10;
var newEntry = () => ({
  state: "closed",
  openedAt: 0,
  probesInFlight: 0,
  probeSuccesses: 0,
  stamps: new Float64Array(BUCKETS).fill(-1),
  calls: new Float64Array(BUCKETS),
  failures: new Float64Array(BUCKETS)
});
var resetWindow = (entry) => {
  entry.stamps.fill(-1);
  entry.calls.fill(0);
  entry.failures.fill(0);
};
var makeMemory = () => {
  const entries = /* @__PURE__ */ new Map();
  const entryOf = (key2) => {
    let entry = entries.get(key2);
    if (entry === void 0) {
      entry = newEntry();
      entries.set(key2, entry);
    }
    return entry;
  };
  const toHalfOpen = (entry, config2, now) => {
    if (entry.state !== "open" || now < entry.openedAt + config2.cooldownMillis) return void 0;
    entry.state = "half-open";
    entry.probesInFlight = 0;
    entry.probeSuccesses = 0;
    return { from: "open", to: "half-open" };
  };
  const open = (entry, now) => {
    const from = entry.state;
    entry.state = "open";
    entry.openedAt = now;
    entry.probesInFlight = 0;
    entry.probeSuccesses = 0;
    resetWindow(entry);
    return { from, to: "open" };
  };
  const acquire = (key2, config2, now) => {
    const entry = entryOf(key2);
    const transition = toHalfOpen(entry, config2, now);
    switch (entry.state) {
      case "closed":
        return { _tag: "Allowed", probe: false };
      case "open":
        return { _tag: "Rejected", retryAtMillis: entry.openedAt + config2.cooldownMillis };
      case "half-open":
        if (entry.probesInFlight + entry.probeSuccesses < config2.halfOpenProbes) {
          entry.probesInFlight++;
          return { _tag: "Allowed", probe: true, transition };
        }
        return { _tag: "Rejected", retryAtMillis: now, transition };
    }
  };
  const record = (key2, config2, now, outcome, probe) => {
    const entry = entryOf(key2);
    if (probe) {
      if (entry.state !== "half-open") return void 0;
      entry.probesInFlight = Math.max(0, entry.probesInFlight - 1);
      if (outcome === "cancelled") return void 0;
      if (outcome === "failure") return open(entry, now);
      entry.probeSuccesses++;
      if (entry.probeSuccesses >= config2.halfOpenProbes) {
        entry.state = "closed";
        resetWindow(entry);
        return { from: "half-open", to: "closed" };
      }
      return void 0;
    }
    if (entry.state !== "closed" || outcome === "cancelled") return void 0;
    const bucketMillis = Math.max(1, config2.windowMillis / BUCKETS);
    const index = Math.floor(now / bucketMillis);
    const slot = index % BUCKETS;
    if (entry.stamps[slot] !== index) {
      entry.stamps[slot] = index;
      entry.calls[slot] = 0;
      entry.failures[slot] = 0;
    }
    entry.calls[slot]++;
    if (outcome === "success") return void 0;
    entry.failures[slot]++;
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const stamp = entry.stamps[i];
      if (stamp > index - BUCKETS && stamp <= index) {
        calls += entry.calls[i];
        failures += entry.failures[i];
      }
    }
    if (calls >= config2.minimumCalls && failures / calls >= config2.failureRateThreshold) return open(entry, now);
    return void 0;
  };
  return {
    acquire: (key2, config2, now) => Effect2.sync(() => acquire(key2, config2, now)),
    record: (key2, config2, now, outcome, probe) => Effect2.sync(() => record(key2, config2, now, outcome, probe)),
    state: (key2, config2, now) => Effect2.sync(() => {
      const entry = entryOf(key2);
      return entry.state === "open" && now >= entry.openedAt + config2.cooldownMillis ? "half-open" : entry.state;
    })
  };
};
var layerMemory = Layer2.sync(BreakerStore, makeMemory);
var conformance = (() => {
  const config2 = {
    failureRateThreshold: 0.5,
    minimumCalls: 4,
    windowMillis: 1e4,
    cooldownMillis: 5e3,
    halfOpenProbes: 2
  };
  let counter3 = 0;
  const key2 = () => `conformance/${Date.now()}-${counter3++}`;
  const expect = (what, actual, expected) => JSON.stringify(actual) === JSON.stringify(expected) ? Effect2.void : Effect2.fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  const check = (name, body) => ({
    name,
    run: Effect2.flatMap(BreakerStore, (store) => body(store, key2()))
  });
  return [
    check("starts closed and allows calls", (store, k) => Effect2.gen(function* () {
      yield* expect("state", yield* store.state(k, config2, 0), "closed");
      yield* expect("acquire", yield* store.acquire(k, config2, 0), { _tag: "Allowed", probe: false });
    })),
    check("opens at the failure rate once the minimum calls are counted", (store, k) => Effect2.gen(function* () {
      yield* expect("1st", yield* store.record(k, config2, 0, "failure", false), void 0);
      yield* expect("2nd", yield* store.record(k, config2, 1, "success", false), void 0);
      yield* expect("3rd (below the minimum)", yield* store.record(k, config2, 2, "failure", false), void 0);
      yield* expect("4th", yield* store.record(k, config2, 3, "success", false), void 0);
      yield* expect("5th (3 of 5 failed)", yield* store.record(k, config2, 4, "failure", false), {
        from: "closed",
        to: "open"
      });
      yield* expect("state", yield* store.state(k, config2, 5), "open");
      const rejected = yield* store.acquire(k, config2, 5);
      yield* expect("rejected", rejected._tag, "Rejected");
      yield* expect("retryAt", rejected._tag === "Rejected" ? rejected.retryAtMillis : -1, 4 + 5e3);
    })),
    check("does not open below the minimum number of calls", (store, k) => Effect2.gen(function* () {
      for (let i = 0; i < 3; i++) yield* store.record(k, config2, i, "failure", false);
      yield* expect("state", yield* store.state(k, config2, 3), "closed");
    })),
    check("forgets failures older than the window", (store, k) => Effect2.gen(function* () {
      for (let i = 0; i < 3; i++) yield* store.record(k, config2, i, "failure", false);
      yield* store.record(k, config2, 2e4, "failure", false);
      yield* expect("state", yield* store.state(k, config2, 2e4), "closed");
    })),
    check(
      "half-open after the cooldown lets a limited number of probes through; all succeeding closes it",
      (store, k) => Effect2.gen(function* () {
        for (let i = 0; i < 4; i++) yield* store.record(k, config2, 0, "failure", false);
        yield* expect("open", yield* store.state(k, config2, 0), "open");
        const first = yield* store.acquire(k, config2, 5e3);
        yield* expect("probe 1", first, {
          _tag: "Allowed",
          probe: true,
          transition: { from: "open", to: "half-open" }
        });
        yield* expect("probe 2", yield* store.acquire(k, config2, 5e3), { _tag: "Allowed", probe: true });
        yield* expect("no 3rd probe", (yield* store.acquire(k, config2, 5e3))._tag, "Rejected");
        yield* expect("1st probe ok", yield* store.record(k, config2, 5001, "success", true), void 0);
        yield* expect("closed", yield* store.record(k, config2, 5002, "success", true), {
          from: "half-open",
          to: "closed"
        });
        yield* expect("allowed", yield* store.acquire(k, config2, 5003), { _tag: "Allowed", probe: false });
      })
    ),
    check("a failed probe opens the breaker again", (store, k) => Effect2.gen(function* () {
      for (let i = 0; i < 4; i++) yield* store.record(k, config2, 0, "failure", false);
      yield* store.acquire(k, config2, 6e3);
      yield* expect("reopened", yield* store.record(k, config2, 6001, "failure", true), {
        from: "half-open",
        to: "open"
      });
      const rejected = yield* store.acquire(k, config2, 6002);
      yield* expect("retryAt", rejected._tag === "Rejected" ? rejected.retryAtMillis : -1, 6001 + 5e3);
    })),
    check("a cancelled probe frees its slot", (store, k) => Effect2.gen(function* () {
      for (let i = 0; i < 4; i++) yield* store.record(k, config2, 0, "failure", false);
      yield* store.acquire(k, config2, 5e3);
      yield* store.acquire(k, config2, 5e3);
      yield* expect("full", (yield* store.acquire(k, config2, 5e3))._tag, "Rejected");
      yield* store.record(k, config2, 5001, "cancelled", true);
      yield* expect("freed", yield* store.acquire(k, config2, 5002), { _tag: "Allowed", probe: true });
    }))
  ];
})();

// src/Budget.ts
var Budget_exports = {};
__export(Budget_exports, {
  daily: () => daily,
  enforce: () => enforce,
  layer: () => layer4,
  monthly: () => monthly,
  rolling: () => rolling,
  status: () => status,
  storeWindow: () => storeWindow,
  tokens: () => tokens,
  total: () => total,
  usd: () => usd
});
import * as Clock from "effect/Clock";
import * as Context8 from "effect/Context";
import * as DateTime2 from "effect/DateTime";
import * as Duration2 from "effect/Duration";
import * as Effect9 from "effect/Effect";
import * as Exit from "effect/Exit";
import { dual as dual4 } from "effect/Function";
import * as Layer7 from "effect/Layer";
import * as Option3 from "effect/Option";
import * as Stream4 from "effect/Stream";

// src/BudgetStore.ts
var BudgetStore_exports = {};
__export(BudgetStore_exports, {
  BudgetStore: () => BudgetStore,
  layerMemory: () => layerMemory2,
  makeMemory: () => makeMemory2
});
import * as Context3 from "effect/Context";
import * as Effect3 from "effect/Effect";
import * as Layer3 from "effect/Layer";
var BudgetStore = class extends Context3.Tag("@effect-llm/core/BudgetStore")() {
};
var windowStartOf = (window) => window._tag === "Fixed" ? window.start : 0;
var makeMemory2 = () => {
  const counters = /* @__PURE__ */ new Map();
  const reservations = /* @__PURE__ */ new Map();
  const counter3 = (key2) => {
    let c = counters.get(key2);
    if (c === void 0) {
      c = { windowStart: Number.NEGATIVE_INFINITY, spent: 0, entries: [], reserved: 0, holders: 0 };
      counters.set(key2, c);
    }
    return c;
  };
  const dropReservation = (id, reservation) => {
    reservations.delete(id);
    for (const item of reservation.items) {
      const c = counters.get(item.key);
      if (c !== void 0) {
        c.holders--;
        c.reserved = c.holders <= 0 ? 0 : Math.max(0, c.reserved - item.amount);
      }
    }
  };
  let nextExpiry = Number.POSITIVE_INFINITY;
  const expire = (now) => {
    if (now < nextExpiry) return;
    nextExpiry = Number.POSITIVE_INFINITY;
    for (const [id, reservation] of reservations) {
      if (reservation.expiresAt <= now) dropReservation(id, reservation);
      else if (reservation.expiresAt < nextExpiry) nextExpiry = reservation.expiresAt;
    }
  };
  const spentAt = (c, window, now) => {
    if (window._tag === "Fixed") {
      if (c.windowStart !== window.start) {
        c.windowStart = window.start;
        c.spent = 0;
      }
      return c.spent;
    }
    const from = now - window.millis;
    let drop = 0;
    while (drop < c.entries.length && c.entries[drop].at <= from) drop++;
    if (drop > 0) c.entries.splice(0, drop);
    let sum = 0;
    for (const entry of c.entries) sum += entry.amount;
    return sum;
  };
  return {
    reserve: (request2) => Effect3.sync(() => {
      expire(request2.now);
      let k = request2.kMax;
      const used = [];
      for (let i = 0; i < request2.items.length; i++) {
        const item = request2.items[i];
        const c = counter3(item.key);
        const u = spentAt(c, item.window, request2.now) + c.reserved;
        used.push(u);
        const minimum = item.base + request2.kMin * item.rate;
        if (u + minimum > item.limit) {
          return { _tag: "Refused", index: i, key: item.key, limit: item.limit, used: u, requested: minimum };
        }
        if (item.rate > 0) {
          let fit = Math.floor((item.limit - u - item.base) / item.rate);
          while (fit > request2.kMin && u + item.base + fit * item.rate > item.limit) fit--;
          if (fit < k) k = fit;
        }
      }
      k = Math.max(request2.kMin, k);
      const items = request2.items.map((item, i) => ({
        key: item.key,
        window: item.window,
        windowStart: windowStartOf(item.window),
        amount: item.base + k * item.rate,
        used: used[i]
      }));
      const levels = [];
      for (const item of items) {
        const c = counter3(item.key);
        c.reserved += item.amount;
        c.holders++;
        levels.push(item.used + item.amount);
      }
      const previous = reservations.get(request2.id);
      if (previous !== void 0) dropReservation(request2.id, previous);
      reservations.set(request2.id, { expiresAt: request2.expiresAt, items });
      if (request2.expiresAt < nextExpiry) nextExpiry = request2.expiresAt;
      return { _tag: "Reserved", k, levels };
    }),
    commit: (id, now, amounts) => Effect3.sync(() => {
      const reservation = reservations.get(id);
      if (reservation === void 0) return;
      dropReservation(id, reservation);
      reservation.items.forEach((item, i) => {
        const amount = amounts[i] ?? 0;
        if (amount <= 0) return;
        const c = counter3(item.key);
        if (item.window._tag === "Fixed") {
          if (c.windowStart === item.windowStart) c.spent += amount;
        } else {
          c.entries.push({ at: now, amount });
        }
      });
    }),
    release: (id) => Effect3.sync(() => {
      const reservation = reservations.get(id);
      if (reservation !== void 0) dropReservation(id, reservation);
    }),
    status: (key2, window, now) => Effect3.sync(() => {
      expire(now);
      const c = counter3(key2);
      return { spent: spentAt(c, window, now), reserved: c.reserved };
    }),
    outstanding: (now) => Effect3.sync(() => {
      expire(now);
      return reservations.size;
    })
  };
};
var layerMemory2 = Layer3.sync(BudgetStore, makeMemory2);

// src/CallEvent.ts
import * as Effect4 from "effect/Effect";
import * as FiberRef from "effect/FiberRef";
import { dual } from "effect/Function";
var currentListeners = FiberRef.unsafeMake([]);
var emit = (event) => Effect4.flatMap(FiberRef.get(currentListeners), (listeners) => {
  if (listeners.length === 0) return Effect4.void;
  if (listeners.length === 1) return listeners[0](event);
  return Effect4.forEach(listeners, (listener) => listener(event), { discard: true });
});
var isListening = Effect4.map(
  FiberRef.get(currentListeners),
  (listeners) => listeners.length > 0
);
var listen = dual(
  2,
  (self, listener) => Effect4.locallyWith(self, currentListeners, (listeners) => [...listeners, listener])
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
import * as Context5 from "effect/Context";
import * as Effect6 from "effect/Effect";
import { dual as dual2 } from "effect/Function";
import * as JSONSchema from "effect/JSONSchema";
import * as Layer4 from "effect/Layer";
import * as ParseResult from "effect/ParseResult";
import { pipeArguments } from "effect/Pipeable";
import * as Schema2 from "effect/Schema";
import "effect/Stream";

// src/internal/stream.ts
import * as Channel from "effect/Channel";
import * as Context4 from "effect/Context";
import * as Effect5 from "effect/Effect";
import * as Stream from "effect/Stream";
var unwrap2 = (effect11) => Stream.fromChannel(Channel.unwrap(Effect5.map(effect11, Stream.toChannel)));
var provideSomeContext = (self, context6) => unwrap2(
  Effect5.map(
    Effect5.context(),
    (parent) => Stream.provideContext(self, Context4.merge(parent, context6))
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
var callerSideTags = /* @__PURE__ */ new Set([
  "InvalidRequest",
  "ContextLengthExceeded",
  "ContentFiltered",
  "MalformedOutput",
  "BudgetExceeded"
]);
var isProviderSide = (e) => !callerSideTags.has(e._tag);
var fallbackTags = /* @__PURE__ */ new Set([
  "RateLimited",
  "QuotaExhausted",
  "ServerError",
  "Overloaded",
  "ConnectionError",
  "Timeout",
  "AuthenticationFailed",
  "CircuitOpen",
  "MalformedResponse"
]);
var isFallbackable = (e) => fallbackTags.has(e._tag);

// src/LanguageModel.ts
var TypeId = /* @__PURE__ */ Symbol.for("@effect-llm/core/LanguageModel");
var LanguageModel = class extends Context5.Tag("@effect-llm/core/LanguageModel")() {
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
var provideContext2 = dual2(2, (self, context6) => (
  // nothing to provide (a model whose calls require nothing): the same model, no work per call
  context6.unsafeMap.size === 0 ? self : make2({
    provider: self.provider,
    model: self.model,
    generate: (request2) => Effect6.provide(self.generate(request2), context6),
    // over the caller's context, as `Effect.provide` does for `generate`
    stream: (request2) => provideSomeContext(self.stream(request2), context6),
    enforcesDeadlines: self.enforcesDeadlines
  })
));
var layer = (model) => Layer4.effect(
  LanguageModel,
  Effect6.map(Effect6.context(), (context6) => provideContext2(model, context6))
);
var generate = (request2) => Effect6.flatMap(LanguageModel, (model) => model.generate(request2));
var stream = (request2) => unwrap2(Effect6.map(LanguageModel, (model) => model.stream(request2)));
var stripFences = (text) => {
  const trimmed = text.trim();
  const fenced = /^```(?:json)?\s*([\s\S]*?)\s*```$/.exec(trimmed);
  return fenced ? fenced[1] : trimmed;
};
var decodeObject = (schema, completion2) => {
  const decode3 = Schema2.decodeUnknown(Schema2.parseJson(schema));
  return decode3(stripFences(completion2.text)).pipe(
    Effect6.mapError(
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
  const request2 = {
    ...rest,
    responseFormat: {
      type: "json",
      name: schemaName ?? "response",
      schema: JSONSchema.make(schema)
    }
  };
  const attempt = (req) => Effect6.flatMap(
    self.generate(req),
    (completion2) => Effect6.map(decodeObject(schema, completion2), (value) => ({ value, completion: completion2 }))
  );
  const first = attempt(request2);
  if (!repair) return first;
  return Effect6.catchIf(
    first,
    (e) => e._tag === "MalformedOutput",
    (e) => attempt({
      ...request2,
      messages: [
        ...request2.messages,
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
var generateObject = (options) => Effect6.flatMap(LanguageModel, (model) => generateObjectWith(model, options));

// src/ModelCatalog.ts
var ModelCatalog_exports = {};
__export(ModelCatalog_exports, {
  CalendarDate: () => CalendarDate,
  CatalogError: () => CatalogError,
  ModelCatalog: () => ModelCatalog,
  ModelInfo: () => ModelInfo,
  Pricing: () => Pricing,
  UnknownModel: () => UnknownModel,
  builtIn: () => builtIn,
  completionCost: () => completionCost,
  cost: () => cost,
  costOf: () => costOf,
  decodeJson: () => decodeJson,
  defaultCatalog: () => defaultCatalog,
  findFor: () => findFor,
  fromJson: () => fromJson,
  layer: () => layer2,
  layerCost: () => layerCost,
  layerWith: () => layerWith,
  lookup: () => lookup,
  make: () => make4,
  withCost: () => withCost,
  worstCaseCost: () => worstCaseCost
});
import * as Context6 from "effect/Context";
import * as Effect7 from "effect/Effect";
import { dual as dual3 } from "effect/Function";
import * as Layer5 from "effect/Layer";
import * as Option2 from "effect/Option";
import * as ParseResult2 from "effect/ParseResult";
import * as Schema3 from "effect/Schema";
import * as Stream3 from "effect/Stream";
var Pricing = Schema3.Struct({
  input: Schema3.NonNegative,
  cachedInput: Schema3.NonNegative,
  cacheWrite: Schema3.optional(Schema3.NonNegative),
  output: Schema3.NonNegative,
  reasoning: Schema3.optional(Schema3.NonNegative)
});
var CalendarDate = Schema3.String.pipe(
  Schema3.pattern(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, {
    message: () => "expected a calendar date YYYY-MM-DD"
  })
);
var ModelInfo = Schema3.Struct({
  provider: Schema3.NonEmptyString,
  model: Schema3.NonEmptyString,
  /** Other names of the same model (e.g. `claude-3-5-haiku-latest`). Dated snapshots resolve without aliases. */
  aliases: Schema3.optional(Schema3.Array(Schema3.String)),
  /** USD per million tokens. */
  pricing: Pricing,
  contextWindow: Schema3.Int.pipe(Schema3.positive()),
  maxOutputTokens: Schema3.Int.pipe(Schema3.positive()),
  pricesAsOf: CalendarDate
});
var UnknownModel = class extends Schema3.TaggedError("@effect-llm/core/ModelCatalog/UnknownModel")(
  "UnknownModel",
  { provider: Schema3.String, model: Schema3.String }
) {
  get message() {
    return `Unknown model ${this.provider}/${this.model}: add it to the ModelCatalog (ModelCatalog.layerWith or fromJson)`;
  }
};
var CatalogError = class extends Schema3.TaggedError("@effect-llm/core/ModelCatalog/CatalogError")(
  "CatalogError",
  { source: Schema3.String, detail: Schema3.String }
) {
  get message() {
    return `Invalid model catalog ${this.source}: ${this.detail}`;
  }
};
var ModelCatalog = class extends Context6.Tag("@effect-llm/core/ModelCatalog")() {
};
var cost = dual3(2, (usage, info) => {
  const p = info.pricing;
  const uncached = Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteInputTokens);
  const reasoning = p.reasoning === void 0 ? 0 : Math.min(usage.reasoningTokens, usage.outputTokens);
  const micro = uncached * p.input + usage.cachedInputTokens * p.cachedInput + usage.cacheWriteInputTokens * (p.cacheWrite ?? p.input) + (usage.outputTokens - reasoning) * p.output + reasoning * (p.reasoning ?? p.output);
  return micro / 1e6;
});
var worstCaseCost = (info, inputTokens, outputTokens) => {
  const p = info.pricing;
  const inPrice = Math.max(p.input, p.cacheWrite ?? p.input);
  const outPrice = Math.max(p.output, p.reasoning ?? p.output);
  return (inputTokens * inPrice + outputTokens * outPrice) / 1e6;
};
var datedSuffix = /-(\d{4}-\d{2}-\d{2}|\d{8})$/;
var keyOf = (provider, model) => `${provider.toLowerCase()}\0${model.toLowerCase()}`;
var make4 = (entries) => {
  const byModel = /* @__PURE__ */ new Map();
  for (const info of entries) {
    byModel.set(keyOf(info.provider, info.model), info);
    for (const alias of info.aliases ?? []) byModel.set(keyOf(info.provider, alias), info);
  }
  const ordered = Array.from(new Set(byModel.values()));
  const find = (provider, model) => {
    const exact = byModel.get(keyOf(provider, model));
    if (exact !== void 0) return Option2.some(exact);
    const undated = model.replace(datedSuffix, "");
    if (undated !== model) return Option2.fromNullable(byModel.get(keyOf(provider, undated)));
    return Option2.none();
  };
  return {
    entries: ordered,
    find,
    lookup: (provider, model) => {
      const found = find(provider, model);
      return Option2.isSome(found) ? Effect7.succeed(found.value) : Effect7.fail(new UnknownModel({ provider, model }));
    },
    cost: (usage, info) => cost(usage, info)
  };
};
var openai = (model, input, cachedInput, output, contextWindow, maxOutputTokens, aliases) => ({
  provider: "openai",
  model,
  ...aliases ? { aliases } : {},
  pricing: { input, cachedInput, output },
  contextWindow,
  maxOutputTokens,
  pricesAsOf: "2025-10-01"
});
var anthropic = (model, input, output, maxOutputTokens, aliases) => ({
  provider: "anthropic",
  model,
  ...aliases ? { aliases } : {},
  // Anthropic: cache hits at 0.1x input, 5-minute cache writes at 1.25x input.
  pricing: { input, cachedInput: round(input * 0.1), cacheWrite: round(input * 1.25), output },
  contextWindow: 2e5,
  maxOutputTokens,
  pricesAsOf: "2026-11-27"
});
var round = (n) => Math.round(n * 1e6) / 1e6;
var builtIn = [
  openai("gpt-5", 1.25, 0.125, 10, 4e5, 128e3),
  openai("gpt-5-mini", 0.25, 0.025, 2, 4e5, 128e3),
  openai("gpt-5-nano", 0.05, 5e-3, 0.4, 4e5, 128e3),
  openai("gpt-4.1", 2, 0.5, 8, 1047576, 32768),
  openai("gpt-4.1-mini", 0.4, 0.1, 1.6, 1047576, 32768),
  openai("gpt-4.1-nano", 0.1, 0.025, 0.4, 1047576, 32768),
  openai("gpt-4o", 2.5, 1.25, 10, 128e3, 16384),
  openai("gpt-4o-mini", 0.15, 0.075, 0.6, 128e3, 16384),
  openai("o3", 2, 0.5, 8, 2e5, 1e5),
  openai("o4-mini", 1.1, 0.275, 4.4, 2e5, 1e5),
  anthropic("claude-opus-4-5", 5, 25, 64e3, ["claude-opus-4-5-latest"]),
  anthropic("claude-opus-4-1", 15, 75, 32e3, ["claude-opus-4-1-latest"]),
  anthropic("claude-opus-4-0", 15, 75, 32e3, ["claude-opus-4", "claude-opus-4-latest"]),
  anthropic("claude-sonnet-4-5", 3, 15, 64e3, ["claude-sonnet-4-5-latest"]),
  anthropic("claude-sonnet-4-0", 3, 15, 64e3, ["claude-sonnet-4", "claude-sonnet-4-latest"]),
  anthropic("claude-haiku-4-5", 1, 5, 64e3, ["claude-haiku-4-5-latest"]),
  anthropic("claude-3-5-haiku", 0.8, 4, 8192, ["claude-3-5-haiku-latest"])
];
var defaultCatalog = make4(builtIn);
var layer2 = Layer5.succeed(ModelCatalog, defaultCatalog);
var layerWith = (entries, options) => Layer5.succeed(ModelCatalog, make4(options?.replace ? entries : [...builtIn, ...entries]));
var CatalogFile = Schema3.Union(
  Schema3.Array(ModelInfo),
  Schema3.Struct({ models: Schema3.Array(ModelInfo) })
);
var decodeJson = (text, source = "<json>") => Schema3.decodeUnknown(Schema3.parseJson(CatalogFile))(text).pipe(
  Effect7.map((file) => "models" in file ? file.models : file),
  Effect7.mapError((error) => new CatalogError({ source, detail: ParseResult2.TreeFormatter.formatErrorSync(error) }))
);
var fromJson = (path, options) => Layer5.effect(
  ModelCatalog,
  Effect7.gen(function* () {
    const { FileSystem: Tag9 } = yield* Effect7.promise(() => import("@effect/platform/FileSystem"));
    const fs = yield* Tag9;
    const text = yield* fs.readFileString(path).pipe(
      Effect7.mapError((error) => new CatalogError({ source: path, detail: error.message }))
    );
    const entries = yield* decodeJson(text, path);
    return make4(options?.replace ? entries : [...builtIn, ...entries]);
  })
);
var lookup = (provider, model) => Effect7.flatMap(ModelCatalog, (catalog) => catalog.lookup(provider, model));
var findFor = (catalog, completion2) => Option2.orElse(
  catalog.find(completion2.provider, completion2.servedModel),
  () => catalog.find(completion2.provider, completion2.model)
);
var costOf = (provider, model, usage) => Effect7.flatMap(ModelCatalog, (catalog) => Effect7.map(catalog.lookup(provider, model), (info) => cost(usage, info)));
var completionCost = (completion2) => Effect7.flatMap(ModelCatalog, (catalog) => {
  const info = findFor(catalog, completion2);
  return Option2.isSome(info) ? Effect7.succeed(cost(completion2.usage, info.value)) : Effect7.fail(new UnknownModel({ provider: completion2.provider, model: completion2.servedModel }));
});
var warned = /* @__PURE__ */ new Set();
var priceWith = (catalog, completion2) => {
  const info = findFor(catalog, completion2);
  if (Option2.isNone(info)) return void 0;
  return { ...completion2, costUsd: cost(completion2.usage, info.value) };
};
var unpriced = (completion2, onUnknown) => {
  if (onUnknown === "fail") {
    return Effect7.fail(new UnknownModel({ provider: completion2.provider, model: completion2.servedModel }));
  }
  const key2 = keyOf(completion2.provider, completion2.servedModel);
  if (warned.has(key2)) return Effect7.succeed(completion2);
  warned.add(key2);
  return Effect7.as(
    Effect7.logWarning(
      `ModelCatalog: no price for ${completion2.provider}/${completion2.servedModel}; costUsd left unset`
    ),
    completion2
  );
};
var applyCost = (self, onUnknown) => transform(self, {
  keepsDeadlines: true,
  generate: (generate2) => (request2) => Effect7.flatMap(generate2(request2), (completion2) => Effect7.flatMap(ModelCatalog, (catalog) => {
    const priced = priceWith(catalog, completion2);
    return priced === void 0 ? unpriced(completion2, onUnknown) : Effect7.succeed(priced);
  })),
  stream: (stream2) => (request2) => unwrap2(Effect7.map(ModelCatalog, (catalog) => Stream3.mapEffect(stream2(request2), (event) => {
    if (event._tag !== "Finish") {
      return Effect7.succeed(event);
    }
    const priced = priceWith(catalog, event.completion);
    return priced === void 0 ? Effect7.map(unpriced(event.completion, onUnknown), (completion2) => ({ _tag: "Finish", completion: completion2 })) : Effect7.succeed({ _tag: "Finish", completion: priced });
  })))
});
var withCost = dual3(
  (args) => isLanguageModel(args[0]),
  (self, options) => applyCost(self, options?.onUnknown ?? "omit")
);
var layerCost = Layer5.effect(
  LanguageModel,
  Effect7.gen(function* () {
    const catalog = yield* ModelCatalog;
    const model = yield* LanguageModel;
    return provideContext2(withCost(model), Context6.make(ModelCatalog, catalog));
  })
);

// src/Tokenizer.ts
var Tokenizer_exports = {};
__export(Tokenizer_exports, {
  Tokenizer: () => Tokenizer,
  count: () => count,
  countLocalSync: () => countLocalSync,
  estimateCharsPerToken: () => estimateCharsPerToken,
  estimateMargin: () => estimateMargin,
  estimateText: () => estimateText,
  layer: () => layer3,
  layerWith: () => layerWith2,
  make: () => make5,
  preload: () => preload,
  usesO200k: () => usesO200k
});
import * as Context7 from "effect/Context";
import * as Effect8 from "effect/Effect";
import * as Layer6 from "effect/Layer";
var Tokenizer = class extends Context7.Tag("@effect-llm/core/Tokenizer")() {
};
var encoderPromise;
var encoder;
var textCache = /* @__PURE__ */ new Map();
var cacheMinChars = 256;
var cacheMaxEntries = 1024;
var loadEncoder = () => encoderPromise ??= import("gpt-tokenizer/encoding/o200k_base").then((module) => {
  const options = { disallowedSpecial: /* @__PURE__ */ new Set() };
  const roles = new Map(
    ["system", "user", "assistant", "developer"].map((role) => [role, module.countTokens(role, options)])
  );
  const count2 = (text) => {
    if (text.length === 0) return 0;
    const role = roles.get(text);
    if (role !== void 0) return role;
    if (text.length < cacheMinChars) return module.countTokens(text, options);
    const cached = textCache.get(text);
    if (cached !== void 0) return cached;
    const n = module.countTokens(text, options);
    if (textCache.size >= cacheMaxEntries) textCache.delete(textCache.keys().next().value);
    textCache.set(text, n);
    return n;
  };
  encoder = count2;
  return count2;
});
var withEncoder = (f) => encoder !== void 0 ? Effect8.sync(() => f(encoder)) : Effect8.map(Effect8.promise(loadEncoder), f);
var usesO200k = (target) => target.provider === "openai" || /^(gpt-|o\d|chatgpt-)/.test(target.model);
var estimateCharsPerToken = 3.5;
var estimateMargin = 1.1;
var estimateText = (text) => text.length === 0 ? 0 : Math.ceil(text.length * estimateMargin / estimateCharsPerToken - 1e-9);
var messagesOf = (input) => Array.isArray(input) ? input : input.messages;
var countMessages = (messages, text, perMessage, image, roleTokens) => {
  let total2 = 3;
  for (const message of messages) {
    total2 += perMessage + (roleTokens ? text(message.role) : 0);
    if (typeof message.content === "string") {
      total2 += text(message.content);
    } else {
      for (const part of message.content) total2 += part.type === "text" ? text(part.text) : image;
    }
  }
  return total2;
};
var countLocalSync = (input, target) => {
  const messages = messagesOf(input);
  if (!usesO200k(target)) return countMessages(messages, estimateText, 4, 1600, false);
  if (encoder === void 0) return void 0;
  return countMessages(messages, encoder, 3, 765, true);
};
var countLocal = (input, target) => {
  const messages = messagesOf(input);
  if (!usesO200k(target)) return Effect8.succeed(countMessages(messages, estimateText, 4, 1600, false));
  return withEncoder((encode) => countMessages(messages, encode, 3, 765, true));
};
var countText = (text, target) => usesO200k(target) ? withEncoder((encode) => encode(text)) : Effect8.succeed(estimateText(text));
var make5 = (options) => {
  const counters = /* @__PURE__ */ new Map();
  for (const counter3 of options?.counters ?? []) counters.set(counter3.provider, counter3);
  return {
    count: (input, target, countOptions) => {
      const counter3 = countOptions?.exact ? counters.get(target.provider) : void 0;
      if (counter3 === void 0) return countLocal(input, target);
      const request2 = Array.isArray(input) ? { messages: input } : input;
      return counter3.countTokens(request2, target.model).pipe(
        Effect8.catchAllCause(
          (cause) => Effect8.zipRight(
            Effect8.logDebug("Tokenizer: exact count failed, using the local count", cause),
            countLocal(input, target)
          )
        )
      );
    },
    countText
  };
};
var layer3 = Layer6.succeed(Tokenizer, make5());
var layerWith2 = (options) => Layer6.succeed(Tokenizer, make5(options));
var count = (input, target, options) => Effect8.flatMap(Tokenizer, (tokenizer) => tokenizer.count(input, target, options));
var preload = Effect8.asVoid(Effect8.promise(loadEncoder));

// src/Budget.ts
var rolling = (duration) => ({
  _tag: "Rolling",
  duration: Duration2.decode(duration)
});
var daily = (timeZone = "UTC") => ({ _tag: "Calendar", unit: "day", timeZone });
var monthly = (timeZone = "UTC") => ({ _tag: "Calendar", unit: "month", timeZone });
var total = { _tag: "Total" };
var toWindow = (window) => typeof window === "object" && window !== null && "_tag" in window && (window._tag === "Rolling" || window._tag === "Calendar" || window._tag === "Total") ? window : rolling(window);
var usd = (amount, window, options) => ({ unit: "usd", amount, window: toWindow(window), soft: options?.soft });
var tokens = (amount, window, options) => ({ unit: "tokens", amount, window: toWindow(window), soft: options?.soft });
var windowFor = (rule, now) => {
  const cached = rule.cached;
  if (cached !== void 0 && now >= cached.start && now < cached.end) return cached.window;
  const window = storeWindow(rule.limit.window, now, rule.zone);
  if (window._tag === "Fixed") rule.cached = { start: window.start, end: window.end, window };
  return window;
};
var asArray = (limits) => limits === void 0 ? [] : Array.isArray(limits) ? limits : [limits];
var windowKeyOf = (window) => {
  switch (window._tag) {
    case "Rolling":
      return `rolling:${Duration2.toMillis(window.duration)}`;
    case "Calendar":
      return `${window.unit}@${window.timeZone}`;
    case "Total":
      return "total";
  }
};
var storeWindow = (window, now, zone) => {
  switch (window._tag) {
    case "Rolling":
      return { _tag: "Rolling", millis: Duration2.toMillis(window.duration) };
    case "Total":
      return { _tag: "Fixed", start: 0, end: Number.POSITIVE_INFINITY };
    case "Calendar": {
      const dt = DateTime2.unsafeMakeZoned(now, { timeZone: zone ?? DateTime2.zoneUnsafeMakeNamed(window.timeZone) });
      const start2 = DateTime2.startOf(dt, window.unit);
      const end = DateTime2.add(start2, window.unit === "day" ? { days: 1 } : { months: 1 });
      return { _tag: "Fixed", start: DateTime2.toEpochMillis(start2), end: DateTime2.toEpochMillis(end) };
    }
  }
};
var NANO = 1e9;
var sequence = 0;
var instance = Math.random().toString(36).slice(2, 10);
var makeEnforcer = (options) => {
  const rules = [];
  const add5 = (scope, limits) => {
    for (const limit of asArray(limits)) {
      rules.push({
        scope,
        limit,
        zone: limit.window._tag === "Calendar" ? DateTime2.zoneUnsafeMakeNamed(limit.window.timeZone) : void 0,
        windowKey: windowKeyOf(limit.window),
        cached: void 0
      });
    }
  };
  add5("user", options.perUser);
  add5("feature", options.perFeature);
  add5("global", options.global);
  const perRequest = options.perRequest;
  const hasPerRequest = perRequest !== void 0 && (perRequest.maxInputTokens !== void 0 || perRequest.maxOutputTokens !== void 0 || perRequest.maxUsd !== void 0);
  const clamp = options.clampOutput ?? true;
  const minOutput = options.minOutputTokens ?? 16;
  const defaultMaxOutput = options.defaultMaxOutputTokens ?? 4096;
  const ttl = Duration2.toMillis(options.reservationTtl ?? Duration2.minutes(10));
  const needsUsd = perRequest?.maxUsd !== void 0 || rules.some((rule) => rule.limit.unit === "usd");
  const softFired = /* @__PURE__ */ new Map();
  const applicable = (request2) => {
    const out = [];
    for (const rule of rules) {
      if (rule.scope === "global") out.push({ rule, scope: "global" });
      else if (rule.scope === "user" && request2.user !== void 0) out.push({ rule, scope: `user:${request2.user}` });
      else if (rule.scope === "feature" && request2.feature !== void 0) {
        out.push({ rule, scope: `feature:${request2.feature}` });
      }
    }
    return out;
  };
  const isActive = (request2) => hasPerRequest || rules.length > 0 && applicable(request2).length > 0;
  const refuse = (plan, scope, unit, limit, spent, requested) => Effect9.zipRight(
    emit({ _tag: "BudgetDecision", decision: "refused", scope, unit, amount: requested }),
    Effect9.fail(
      new BudgetExceeded({
        provider: plan.target.provider,
        model: plan.target.model,
        scope,
        unit,
        limit,
        spent,
        requested
      })
    )
  );
  const reserve = (context6, provider, defaultModel, request2) => Effect9.gen(function* () {
    const store = Context8.get(context6, BudgetStore);
    const catalog = Context8.get(context6, ModelCatalog);
    const tokenizer = Context8.get(context6, Tokenizer);
    const target = { provider, model: request2.model ?? defaultModel };
    let info = Option3.getOrUndefined(catalog.find(target.provider, target.model));
    if (info === void 0 && needsUsd) {
      if (options.unpricedFallback === void 0) {
        return yield* Effect9.die(new UnknownModel(target));
      }
      info = {
        provider: target.provider,
        model: target.model,
        pricing: options.unpricedFallback,
        contextWindow: Number.MAX_SAFE_INTEGER,
        maxOutputTokens: defaultMaxOutput,
        pricesAsOf: "1970-01-01"
      };
    }
    const inputTokens = yield* tokenizer.count(
      request2,
      target,
      options.exactCount ? { exact: true } : void 0
    );
    if (perRequest?.maxInputTokens !== void 0 && inputTokens > perRequest.maxInputTokens) {
      return yield* refuse({ target }, "request", "tokens", perRequest.maxInputTokens, 0, inputTokens);
    }
    const inNano = info ? Math.max(info.pricing.input, info.pricing.cacheWrite ?? info.pricing.input) * 1e3 : 0;
    const outNano = info ? Math.ceil(Math.max(info.pricing.output, info.pricing.reasoning ?? info.pricing.output) * 1e3) : 0;
    const inputNano = Math.ceil(inputTokens * inNano);
    let kMax = Math.min(
      request2.maxOutputTokens ?? info?.maxOutputTokens ?? defaultMaxOutput,
      info?.maxOutputTokens ?? Number.POSITIVE_INFINITY,
      perRequest?.maxOutputTokens ?? Number.POSITIVE_INFINITY
    );
    const kMinWanted = clamp ? Math.min(minOutput, kMax) : kMax;
    if (perRequest?.maxUsd !== void 0) {
      const maxNano = Math.round(perRequest.maxUsd * NANO);
      const fit = outNano > 0 ? Math.floor((maxNano - inputNano) / outNano) : kMax;
      if (fit < kMinWanted) {
        return yield* refuse(
          { target },
          "request",
          "usd",
          perRequest.maxUsd,
          0,
          (inputNano + kMinWanted * outNano) / NANO
        );
      }
      kMax = Math.min(kMax, fit);
    }
    const kMin = clamp ? Math.min(kMinWanted, kMax) : kMax;
    const scoped = applicable(request2);
    const now = yield* Clock.currentTimeMillis;
    const id = `${instance}-${++sequence}`;
    const items = scoped.map(({ rule, scope }) => {
      const usdUnit = rule.limit.unit === "usd";
      return {
        key: `budget:${scope}:${rule.limit.unit}:${rule.windowKey}`,
        limit: usdUnit ? Math.round(rule.limit.amount * NANO) : rule.limit.amount,
        window: windowFor(rule, now),
        base: usdUnit ? inputNano : inputTokens,
        rate: usdUnit ? outNano : 1
      };
    });
    let k = kMax;
    if (items.length > 0) {
      const result = yield* store.reserve({ id, now, expiresAt: now + ttl, kMin, kMax, items });
      if (result._tag === "Refused") {
        const { rule, scope } = scoped[result.index];
        const scale = rule.limit.unit === "usd" ? NANO : 1;
        return yield* refuse(
          { target },
          scope,
          rule.limit.unit,
          rule.limit.amount,
          result.used / scale,
          result.requested / scale
        );
      }
      k = result.k;
      const listening = yield* isListening;
      for (let i = 0; i < items.length; i++) {
        const { rule, scope } = scoped[i];
        const item = items[i];
        const amount = (item.base + k * item.rate) / (rule.limit.unit === "usd" ? NANO : 1);
        if (listening) {
          yield* emit({
            _tag: "BudgetDecision",
            decision: "reserved",
            scope,
            unit: rule.limit.unit,
            amount
          });
        }
        if (rule.limit.soft !== void 0) {
          const threshold = rule.limit.amount * rule.limit.soft;
          const level = result.levels[i] / (rule.limit.unit === "usd" ? NANO : 1);
          const fired = softFired.get(item.key) === true;
          if (level >= threshold && !fired) {
            softFired.set(item.key, true);
            yield* emit({
              _tag: "BudgetDecision",
              decision: "soft-limit",
              scope,
              unit: rule.limit.unit,
              amount: level
            });
            yield* send({
              kind: "soft-budget",
              key: scope,
              severity: "warning",
              message: `Budget ${scope} passed its soft limit: ${format2(level, rule.limit.unit)} of ${format2(rule.limit.amount, rule.limit.unit)} (${windowKeyOf(rule.limit.window)})`,
              value: level,
              threshold,
              at: now
            });
          } else if (level < threshold && fired) {
            softFired.set(item.key, false);
          }
        }
      }
    }
    return {
      id,
      request: k === request2.maxOutputTokens ? request2 : { ...request2, maxOutputTokens: k },
      target,
      info,
      inputTokens,
      items: scoped.map(({ rule, scope }) => ({ scope, unit: rule.limit.unit }))
    };
  });
  const commitUsage = (context6, plan, usage, completion2) => {
    if (plan.items.length === 0) return Effect9.void;
    const store = Context8.get(context6, BudgetStore);
    const catalog = Context8.get(context6, ModelCatalog);
    const served = completion2 === void 0 ? void 0 : Option3.getOrUndefined(findFor(catalog, completion2));
    const info = served ?? plan.info;
    const usdAmount = info === void 0 ? 0 : cost(usage, info);
    const tokenAmount = usage.inputTokens + usage.outputTokens;
    const amounts = plan.items.map((item) => item.unit === "usd" ? Math.round(usdAmount * NANO) : tokenAmount);
    return Effect9.flatMap(Clock.currentTimeMillis, (now) => Effect9.zipRight(
      store.commit(plan.id, now, amounts),
      Effect9.flatMap(isListening, (listening) => listening ? Effect9.forEach(plan.items, (item, i) => emit({
        _tag: "BudgetDecision",
        decision: "reconciled",
        scope: item.scope,
        unit: item.unit,
        amount: item.unit === "usd" ? usdAmount : tokenAmount
      }), { discard: true }) : Effect9.void)
    ));
  };
  const release = (context6, plan) => {
    if (plan.items.length === 0) return Effect9.void;
    return Effect9.zipRight(
      Context8.get(context6, BudgetStore).release(plan.id),
      Effect9.flatMap(isListening, (listening) => listening ? Effect9.forEach(plan.items, (item) => emit({
        _tag: "BudgetDecision",
        decision: "released",
        scope: item.scope,
        unit: item.unit,
        amount: 0
      }), {
        discard: true
      }) : Effect9.void)
    );
  };
  return { isActive, reserve, commitUsage, release };
};
var format2 = (amount, unit) => unit === "usd" ? `$${amount.toFixed(4)}` : `${Math.round(amount)} tokens`;
var apply = (self, options) => {
  const enforcer = makeEnforcer(options);
  return transform(self, {
    keepsDeadlines: true,
    generate: (generate2) => (request2) => {
      if (!enforcer.isActive(request2)) return generate2(request2);
      return Effect9.flatMap(Effect9.context(), (context6) => Effect9.acquireUseRelease(
        enforcer.reserve(context6, self.provider, self.model, request2),
        (plan) => generate2(plan.request),
        (plan, exit) => Exit.isSuccess(exit) ? enforcer.commitUsage(context6, plan, exit.value.usage, exit.value) : enforcer.release(context6, plan)
      ));
    },
    stream: (stream2) => (request2) => {
      if (!enforcer.isActive(request2)) return stream2(request2);
      return Stream4.unwrapScoped(
        Effect9.gen(function* () {
          const context6 = yield* Effect9.context();
          const seen = { finish: void 0, text: "" };
          const plan = yield* Effect9.acquireRelease(
            enforcer.reserve(context6, self.provider, self.model, request2),
            (plan2) => {
              if (seen.finish !== void 0) return enforcer.commitUsage(context6, plan2, seen.finish.usage, seen.finish);
              if (seen.text.length === 0) return enforcer.release(context6, plan2);
              return Effect9.flatMap(
                Context8.get(context6, Tokenizer).countText(seen.text, plan2.target),
                (outputTokens) => enforcer.commitUsage(context6, plan2, {
                  inputTokens: plan2.inputTokens,
                  cachedInputTokens: 0,
                  cacheWriteInputTokens: 0,
                  outputTokens,
                  reasoningTokens: 0
                }, void 0)
              );
            }
          );
          return Stream4.map(stream2(plan.request), (event) => {
            if (event._tag === "TextDelta") seen.text += event.text;
            else seen.finish = event.completion;
            return event;
          });
        })
      );
    }
  });
};
var enforce = dual4(2, (self, options) => apply(self, options));
var layer4 = (options) => Layer7.effect(
  LanguageModel,
  Effect9.gen(function* () {
    const context6 = yield* Effect9.context();
    const model = yield* LanguageModel;
    return provideContext2(enforce(model, options), context6);
  })
);
var status = (scope, limit) => Effect9.gen(function* () {
  const store = yield* BudgetStore;
  const now = yield* Clock.currentTimeMillis;
  const s = yield* store.status(
    `budget:${scope}:${limit.unit}:${windowKeyOf(limit.window)}`,
    storeWindow(limit.window, now),
    now
  );
  const scale = limit.unit === "usd" ? NANO : 1;
  const spent = s.spent / scale;
  const reserved = s.reserved / scale;
  return { spent, reserved, limit: limit.amount, remaining: Math.max(0, limit.amount - spent - reserved) };
});

// src/Completion.ts
import * as Schema4 from "effect/Schema";
var FinishReason = Schema4.Literal("stop", "length", "content-filter", "tool-calls", "other");
var Usage = Schema4.Struct({
  inputTokens: Schema4.Number,
  cachedInputTokens: Schema4.Number,
  cacheWriteInputTokens: Schema4.Number,
  outputTokens: Schema4.Number,
  reasoningTokens: Schema4.Number
});
var emptyUsage = {
  inputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0
};
var Attempt = Schema4.Struct({
  provider: Schema4.String,
  model: Schema4.String,
  outcome: Schema4.String,
  durationMillis: Schema4.optional(Schema4.Number)
});
var CacheStatus = Schema4.Literal("hit", "miss", "bypass");
var RateLimitInfo = Schema4.Struct({
  limitRequests: Schema4.optional(Schema4.Number),
  remainingRequests: Schema4.optional(Schema4.Number),
  resetRequestsMillis: Schema4.optional(Schema4.Number),
  limitTokens: Schema4.optional(Schema4.Number),
  remainingTokens: Schema4.optional(Schema4.Number),
  resetTokensMillis: Schema4.optional(Schema4.Number)
});
var Completion = Schema4.Struct({
  text: Schema4.String,
  finishReason: FinishReason,
  usage: Usage,
  /** Cost in USD from the pricing catalog, when a catalog priced it. */
  costUsd: Schema4.optional(Schema4.Number),
  provider: Schema4.String,
  /** The model that was asked for. */
  model: Schema4.String,
  /** The model the provider says served the call (often a dated snapshot). */
  servedModel: Schema4.String,
  responseId: Schema4.optional(Schema4.String),
  requestId: Schema4.optional(Schema4.String),
  rateLimit: Schema4.optional(RateLimitInfo),
  /** Every model call made for this completion, in order; the last one answered. */
  attempts: Schema4.Array(Attempt),
  cache: Schema4.optional(CacheStatus),
  tier: Schema4.optional(Schema4.String)
});

// src/StreamEvent.ts
import * as Schema5 from "effect/Schema";
var TextDelta = Schema5.TaggedStruct("TextDelta", { text: Schema5.String });
var Finish = Schema5.TaggedStruct("Finish", { completion: Completion });
var StreamEvent = Schema5.Union(TextDelta, Finish);
var textDelta = (text) => ({ _tag: "TextDelta", text });
var finish = (completion2) => ({ _tag: "Finish", completion: completion2 });

// src/CircuitBreaker.ts
var CircuitBreaker_exports = {};
__export(CircuitBreaker_exports, {
  config: () => config,
  defaultIsFailure: () => defaultIsFailure,
  key: () => key,
  layer: () => layer5,
  state: () => state,
  withBreaker: () => withBreaker,
  withStore: () => withStore
});
import * as Cause from "effect/Cause";
import * as DateTime3 from "effect/DateTime";
import * as Duration3 from "effect/Duration";
import * as Effect10 from "effect/Effect";
import { dual as dual5 } from "effect/Function";
import * as Layer8 from "effect/Layer";
import * as Option4 from "effect/Option";
import * as Stream5 from "effect/Stream";

// src/internal/resilienceTrail.ts
var trails = /* @__PURE__ */ new WeakMap();
var isTaggedError = (u) => typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string";
var setTrail = (error, trail) => {
  if (typeof error === "object" && error !== null) trails.set(error, trail);
};
var trailOf = (error, target) => {
  const recorded = typeof error === "object" && error !== null ? trails.get(error) : void 0;
  if (recorded !== void 0) return recorded;
  return [{ provider: target.provider, model: target.model, outcome: isTaggedError(error) ? error._tag : "failure" }];
};
var prependTrail = (completion2, trail) => trail.length === 0 ? completion2 : { ...completion2, attempts: [...trail, ...completion2.attempts] };
var prependTrailEvent = (trail) => (event) => event._tag === "Finish" ? finish(prependTrail(event.completion, trail)) : event;

// src/CircuitBreaker.ts
var defaultIsFailure = (error) => error._tag !== "CircuitOpen" && isProviderSide(error);
var config = (options) => ({
  failureRateThreshold: options?.failureRateThreshold ?? defaultConfig.failureRateThreshold,
  minimumCalls: options?.minimumCalls ?? defaultConfig.minimumCalls,
  windowMillis: options?.window === void 0 ? defaultConfig.windowMillis : Duration3.toMillis(options.window),
  cooldownMillis: options?.cooldown === void 0 ? defaultConfig.cooldownMillis : Duration3.toMillis(options.cooldown),
  halfOpenProbes: options?.halfOpenProbes ?? defaultConfig.halfOpenProbes
});
var key = (provider, model) => `${provider}/${model}`;
var withBreaker = dual5(
  (args) => isLanguageModel(args[0]),
  (self, options) => withStore(self, BreakerStore, options)
);
var withStore = (self, store, options) => {
  const cfg = config(options);
  const isFailure = options?.isFailure ?? defaultIsFailure;
  const provider = self.provider;
  const outcomeOf2 = (exit) => {
    if (exit._tag === "Success") return "success";
    const failure = Cause.failureOption(exit.cause);
    if (Option4.isSome(failure)) {
      const error = failure.value;
      return isTaggedError(error) && !isFailure(error) ? "success" : "failure";
    }
    return Cause.isInterruptedOnly(exit.cause) ? "cancelled" : "failure";
  };
  const changed = (model, transition) => transition === void 0 ? Effect10.void : emit({ _tag: "CircuitStateChanged", provider, model, from: transition.from, to: transition.to });
  const guard = (model, f) => Effect10.flatMap(store, (store2) => Effect10.clockWith((clock) => {
    const k = key(provider, model);
    return Effect10.flatMap(store2.acquire(k, cfg, clock.unsafeCurrentTimeMillis()), (decision) => {
      const run = decision._tag === "Allowed" ? f(store2, k, decision.probe) : Effect10.fail(
        new CircuitOpen({ provider, model, retryAt: DateTime3.unsafeMake(decision.retryAtMillis) })
      );
      return decision.transition === void 0 ? run : Effect10.zipRight(changed(model, decision.transition), run);
    });
  }));
  const record = (store2, k, model, probe) => (exit) => Effect10.clockWith(
    (clock) => Effect10.flatMap(
      store2.record(k, cfg, clock.unsafeCurrentTimeMillis(), outcomeOf2(exit), probe),
      (transition) => changed(model, transition)
    )
  );
  return transform(self, {
    keepsDeadlines: true,
    generate: (generate2) => (request2) => {
      const model = request2.model ?? self.model;
      return guard(model, (store2, k, probe) => Effect10.onExit(generate2(request2), record(store2, k, model, probe)));
    },
    stream: (stream2) => (request2) => {
      const model = request2.model ?? self.model;
      return unwrap2(
        guard(
          model,
          (store2, k, probe) => Effect10.succeed(Stream5.ensuringWith(stream2(request2), record(store2, k, model, probe)))
        )
      );
    }
  });
};
var layer5 = (options) => Layer8.effect(
  LanguageModel,
  Effect10.gen(function* () {
    const model = yield* LanguageModel;
    const store = yield* BreakerStore;
    return withStore(model, Effect10.succeed(store), options);
  })
);
var state = (provider, model, options) => Effect10.flatMap(
  BreakerStore,
  (store) => Effect10.clockWith((clock) => store.state(key(provider, model), config(options), clock.unsafeCurrentTimeMillis()))
);

// src/GenerateRequest.ts
import * as Schema6 from "effect/Schema";
var TextPart = Schema6.Struct({
  type: Schema6.Literal("text"),
  text: Schema6.String
});
var ImagePart = Schema6.Struct({
  type: Schema6.Literal("image"),
  url: Schema6.String,
  mediaType: Schema6.optional(Schema6.String)
});
var Content = Schema6.Union(Schema6.String, Schema6.Array(Schema6.Union(TextPart, ImagePart)));
var Message = Schema6.Struct({
  role: Schema6.Literal("system", "user", "assistant"),
  content: Content
});
var ResponseFormat = Schema6.Union(
  Schema6.Struct({ type: Schema6.Literal("text") }),
  Schema6.Struct({
    type: Schema6.Literal("json"),
    name: Schema6.optional(Schema6.String),
    schema: Schema6.optional(Schema6.Record({ key: Schema6.String, value: Schema6.Unknown }))
  })
);
var CacheControl = Schema6.Struct({
  mode: Schema6.optional(Schema6.Literal("default", "bypass", "refresh")),
  ttl: Schema6.optional(Schema6.DurationFromMillis),
  namespace: Schema6.optional(Schema6.String),
  scope: Schema6.optional(Schema6.Literal("global", "user"))
});
var GenerateRequest = Schema6.Struct({
  model: Schema6.optional(Schema6.String),
  tier: Schema6.optional(Schema6.String),
  messages: Schema6.Array(Message),
  maxOutputTokens: Schema6.optional(Schema6.Int.pipe(Schema6.positive())),
  temperature: Schema6.optional(Schema6.Number.pipe(Schema6.between(0, 2))),
  topP: Schema6.optional(Schema6.Number.pipe(Schema6.between(0, 1))),
  stop: Schema6.optional(Schema6.Array(Schema6.String)),
  seed: Schema6.optional(Schema6.Int),
  responseFormat: Schema6.optional(ResponseFormat),
  user: Schema6.optional(Schema6.String),
  feature: Schema6.optional(Schema6.String),
  cache: Schema6.optional(CacheControl),
  metadata: Schema6.optional(Schema6.Record({ key: Schema6.String, value: Schema6.String }))
});
var contentText = (content) => {
  if (typeof content === "string") return content;
  let out = "";
  for (const part of content) if (part.type === "text") out += part.text;
  return out;
};

// src/Fallback.ts
import * as Effect11 from "effect/Effect";
import { dual as dual6 } from "effect/Function";
import * as Layer9 from "effect/Layer";
import * as Stream6 from "effect/Stream";
var defaultWhen = isFallbackable;
var forOther = (request2) => {
  if (request2.model === void 0) return request2;
  const { model: _, ...rest } = request2;
  return rest;
};
var to = dual6(
  (args) => isLanguageModel(args[0]) && isLanguageModel(args[1]),
  (self, other, options) => {
    const when = options?.when ?? defaultWhen;
    const movesOn = (error) => isTaggedError(error) && when(error);
    const switchTo = (request2, error) => emit({
      _tag: "FallbackTriggered",
      from: { provider: self.provider, model: request2.model ?? self.model },
      to: { provider: other.provider, model: other.model },
      reason: error._tag
    });
    const trailFor = (request2, error) => trailOf(error, { provider: self.provider, model: request2.model ?? self.model });
    return make2({
      provider: self.provider,
      model: self.model,
      // no wait of its own: the chain enforces deadlines when both of its models do
      enforcesDeadlines: self.enforcesDeadlines === true && other.enforcesDeadlines === true,
      generate: (request2) => Effect11.catchAll(self.generate(request2), (error) => {
        if (!movesOn(error)) return Effect11.fail(error);
        const trail = trailFor(request2, error);
        return Effect11.zipRight(
          switchTo(request2, error),
          Effect11.matchEffect(other.generate(forOther(request2)), {
            onFailure: (next2) => {
              setTrail(next2, [...trail, ...trailOf(next2, other)]);
              return Effect11.fail(next2);
            },
            onSuccess: (completion2) => Effect11.succeed(prependTrail(completion2, trail))
          })
        );
      }),
      stream: (request2) => Stream6.suspend(() => {
        let emitted = false;
        return self.stream(request2).pipe(
          Stream6.mapChunks((chunk) => {
            if (chunk.length > 0) emitted = true;
            return chunk;
          }),
          Stream6.catchAll((error) => {
            if (emitted || !movesOn(error)) return Stream6.fail(error);
            const trail = trailFor(request2, error);
            return unwrap2(Effect11.as(
              switchTo(request2, error),
              other.stream(forOther(request2)).pipe(
                Stream6.map(prependTrailEvent(trail)),
                Stream6.tapError(
                  (next2) => Effect11.sync(() => setTrail(next2, [...trail, ...trailOf(next2, other)]))
                )
              )
            ));
          })
        );
      })
    });
  }
);

// src/ProviderCall.ts
import * as Context9 from "effect/Context";
import * as Duration4 from "effect/Duration";
import * as Effect12 from "effect/Effect";
var maxTimerMillis = 2147483647;
var noop = () => {
};
var nativeSchedule = (millis6, f) => {
  if (!(millis6 < maxTimerMillis)) return noop;
  const handle = setTimeout(f, Math.max(0, millis6));
  return () => clearTimeout(handle);
};
var CurrentDeadlines = class extends Context9.Tag("@effect-llm/core/ProviderCall/CurrentDeadlines")() {
};
var deadlinesIn = (context6) => context6.unsafeMap.get(CurrentDeadlines.key);

// src/RateLimit.ts
var RateLimit_exports = {};
__export(RateLimit_exports, {
  estimateTokens: () => estimateTokens,
  layer: () => layer7,
  withLimits: () => withLimits
});
import * as Duration7 from "effect/Duration";
import * as Effect15 from "effect/Effect";
import { dual as dual8 } from "effect/Function";
import * as Layer11 from "effect/Layer";
import * as Stream8 from "effect/Stream";

// src/Timeout.ts
var Timeout_exports = {};
__export(Timeout_exports, {
  currentConnectTimeout: () => currentConnectTimeout,
  generateDeadline: () => generateDeadline,
  layer: () => layer6,
  sleepWithin: () => sleepWithin,
  standard: () => standard,
  withTimeouts: () => withTimeouts
});
import * as Chunk from "effect/Chunk";
import * as Clock3 from "effect/Clock";
import * as Context10 from "effect/Context";
import * as Duration6 from "effect/Duration";
import * as Effect14 from "effect/Effect";
import * as FiberRef2 from "effect/FiberRef";
import { dual as dual7 } from "effect/Function";
import * as Layer10 from "effect/Layer";
import * as Option5 from "effect/Option";
import * as Runtime2 from "effect/Runtime";
import * as Stream7 from "effect/Stream";

// src/internal/timeoutDeadline.ts
import * as Clock2 from "effect/Clock";
import * as Duration5 from "effect/Duration";
import * as Effect13 from "effect/Effect";
import * as Runtime from "effect/Runtime";
var LiveClock = Clock2.make().constructor;
var scheduleOn = (clock, runtime2) => clock.constructor === LiveClock ? nativeSchedule : (millis6, f) => {
  const timer = Runtime.runFork(runtime2())(clock.sleep(Duration5.millis(millis6)));
  timer.addObserver((exit) => {
    if (exit._tag === "Success") f();
  });
  return () => timer.unsafeInterruptAsFork(timer.id());
};
var withDeadline = (self, millis6, onTimeout, local) => Effect13.clockWith(
  (clock) => Effect13.flatMap(Effect13.runtime(), (current) => Effect13.async((resume) => {
    const runtime2 = local === void 0 ? current : Runtime.setFiberRef(current, local[0], local[1]);
    const fiber = Runtime.runFork(runtime2)(self);
    let done = false;
    const cancelTimer = scheduleOn(clock, () => runtime2)(millis6, () => {
      if (done) return;
      done = true;
      fiber.unsafeInterruptAsFork(fiber.id());
      resume(Effect13.fail(onTimeout()));
    });
    fiber.addObserver((exit) => {
      cancelTimer();
      if (done) return;
      done = true;
      resume(exit);
    });
    return Effect13.sync(() => {
      done = true;
      cancelTimer();
      fiber.unsafeInterruptAsFork(fiber.id());
    });
  }))
);

// src/Timeout.ts
var standard = {
  connect: Duration6.seconds(10),
  firstToken: Duration6.seconds(60),
  idle: Duration6.seconds(30),
  total: Duration6.minutes(10),
  response: { base: Duration6.seconds(30), perOutputToken: Duration6.millis(50) }
};
var currentConnectTimeout = FiberRef2.unsafeMake(void 0);
var millis3 = (input) => input === void 0 ? void 0 : Duration6.toMillis(input);
var generateDeadline = (options, request2) => {
  const total2 = millis3(options.total);
  const response = options.response;
  if (response === void 0) return total2;
  const tokens2 = request2.maxOutputTokens ?? response.defaultOutputTokens;
  if (tokens2 === void 0) return total2;
  const deadline = Duration6.toMillis(response.base) + Duration6.toMillis(response.perOutputToken) * tokens2;
  return total2 === void 0 ? deadline : Math.min(total2, deadline);
};
var clockOf = (fiber) => Context10.get(fiber.currentDefaultServices, Clock3.Clock);
var sleepWithin = (millis6) => Effect14.withFiberRuntime((fiber) => {
  const deadlines = deadlinesIn(fiber.currentContext);
  if (deadlines === void 0) return Effect14.sleep(Duration6.millis(millis6));
  let at = deadlines.end;
  let error = deadlines.onEnd;
  if (deadlines.firstToken !== void 0 && (at === void 0 || deadlines.firstToken < at)) {
    at = deadlines.firstToken;
    error = deadlines.onFirstToken;
  }
  const now = clockOf(fiber).unsafeCurrentTimeMillis();
  if (at === void 0 || now + millis6 < at) return Effect14.sleep(Duration6.millis(millis6));
  return Effect14.zipRight(Effect14.sleep(Duration6.millis(Math.max(0, at - now))), Effect14.fail(error()));
});
var earlier = (a, onA, b, onB) => a === void 0 || b !== void 0 && b < a ? [b, onB] : [a, onA];
var combine = (outer, inner) => {
  if (outer === void 0) return inner;
  const [end, onEnd] = earlier(outer.end, outer.onEnd, inner.end, inner.onEnd);
  const [firstToken, onFirstToken] = earlier(outer.firstToken, outer.onFirstToken, inner.firstToken, inner.onFirstToken);
  const [idle, onIdle] = earlier(outer.idle, outer.onIdle, inner.idle, inner.onIdle);
  return {
    end,
    onEnd,
    firstToken,
    onFirstToken,
    idle,
    onIdle,
    connect: inner.connect ?? outer.connect,
    firstEvent: inner.firstEvent ?? outer.firstEvent,
    schedule: inner.schedule
  };
};
var timerRuntime = (fiber) => () => Runtime2.make({
  context: fiber.currentContext,
  fiberRefs: fiber.getFiberRefs(),
  runtimeFlags: Runtime2.defaultRuntimeFlags
});
var withTimeouts = dual7(2, (self, options) => {
  const connect = options.connect === void 0 ? void 0 : Duration6.decode(options.connect);
  const firstToken = millis3(options.firstToken);
  const idle = millis3(options.idle);
  const provider = self.provider;
  const fail12 = (request2, phase, after) => new Timeout({ provider, model: request2.model ?? self.model, phase, after: Duration6.millis(after) });
  const delegate = self.enforcesDeadlines === true;
  const deadlinesOf = (fiber, request2, deadline, streaming) => {
    const clock = clockOf(fiber);
    const started = clock.unsafeCurrentTimeMillis();
    const model = request2.model ?? self.model;
    return combine(deadlinesIn(fiber.currentContext), {
      end: deadline === void 0 ? void 0 : started + deadline,
      onEnd: () => fail12(request2, "total", deadline),
      firstToken: streaming && firstToken !== void 0 ? started + firstToken : void 0,
      onFirstToken: () => fail12(request2, "first-token", firstToken),
      idle: streaming ? idle : void 0,
      onIdle: () => fail12(request2, "idle", idle),
      connect,
      firstEvent: streaming ? (now) => emit({ _tag: "FirstToken", provider, model, afterMillis: now - started }) : void 0,
      schedule: scheduleOn(clock, timerRuntime(fiber))
    });
  };
  return transform(self, {
    keepsDeadlines: true,
    generate: (generate2) => (request2) => {
      const deadline = generateDeadline(options, request2);
      if (deadline === void 0) {
        return connect === void 0 ? generate2(request2) : Effect14.locally(generate2(request2), currentConnectTimeout, connect);
      }
      if (delegate) {
        return Effect14.withFiberRuntime(
          (fiber) => Effect14.locally(
            generate2(request2),
            FiberRef2.currentContext,
            Context10.add(fiber.currentContext, CurrentDeadlines, deadlinesOf(fiber, request2, deadline, false))
          )
        );
      }
      return withDeadline(
        generate2(request2),
        deadline,
        () => fail12(request2, "total", deadline),
        connect === void 0 ? void 0 : [currentConnectTimeout, connect]
      );
    },
    stream: (stream2) => (request2) => {
      const deadline = generateDeadline(options, request2);
      if (firstToken === void 0 && idle === void 0 && deadline === void 0 && connect === void 0) {
        return stream2(request2);
      }
      if (delegate) {
        return unwrap2(Effect14.withFiberRuntime(
          (fiber) => Effect14.succeed(
            Stream7.provideContext(
              stream2(request2),
              Context10.add(fiber.currentContext, CurrentDeadlines, deadlinesOf(fiber, request2, deadline, true))
            )
          )
        ));
      }
      return Stream7.unwrapScoped(
        Effect14.flatMap(Stream7.toPull(stream2(request2)), (pull) => Effect14.clockWith((clock) => {
          const started = clock.unsafeCurrentTimeMillis();
          let first = true;
          const timed = Effect14.suspend(() => {
            const phaseMillis = first ? firstToken : idle;
            const left = deadline === void 0 ? void 0 : deadline - (clock.unsafeCurrentTimeMillis() - started);
            const base2 = first && connect !== void 0 ? Effect14.locally(pull, currentConnectTimeout, connect) : pull;
            let effect11 = base2;
            if (left !== void 0 && (phaseMillis === void 0 || left <= phaseMillis)) {
              effect11 = withDeadline(base2, Math.max(0, left), () => Option5.some(fail12(request2, "total", deadline)));
            } else if (phaseMillis !== void 0) {
              const phase = first ? "first-token" : "idle";
              effect11 = withDeadline(base2, phaseMillis, () => Option5.some(fail12(request2, phase, phaseMillis)));
            }
            if (!first) return effect11;
            return Effect14.flatMap(effect11, (chunk) => {
              if (!Chunk.isNonEmpty(chunk)) return Effect14.succeed(chunk);
              first = false;
              return Effect14.as(
                emit({
                  _tag: "FirstToken",
                  provider,
                  model: request2.model ?? self.model,
                  afterMillis: clock.unsafeCurrentTimeMillis() - started
                }),
                chunk
              );
            });
          });
          return Effect14.succeed(Stream7.repeatEffectChunkOption(timed));
        }))
      );
    }
  });
});
var layer6 = (options) => Layer10.effect(
  LanguageModel,
  Effect14.map(LanguageModel, (model) => withTimeouts(model, options))
);

// src/RateLimit.ts
var sleepWithin2 = (millis6) => sleepWithin(millis6);
var estimateTokens = (request2) => {
  let chars = 0;
  for (const message of request2.messages) chars += contentText(message.content).length;
  return Math.ceil(chars / 4) + (request2.maxOutputTokens ?? 0);
};
var Bucket = class {
  constructor(perMinute, now) {
    this.perMinute = perMinute;
    this.level = perMinute;
    this.updated = now;
  }
  perMinute;
  level;
  updated;
  get rate() {
    return this.perMinute / 6e4;
  }
  refill(now) {
    if (now > this.updated) {
      this.level = Math.min(this.perMinute, this.level + (now - this.updated) * this.rate);
      this.updated = now;
    }
  }
  /** Takes `cost` (the level may go below zero: a reservation); returns the wait in ms. */
  take(cost2, now) {
    this.refill(now);
    this.level -= cost2;
    return this.level >= 0 ? 0 : Math.ceil(-this.level / this.rate);
  }
  give(amount, now) {
    this.refill(now);
    this.level = Math.min(this.perMinute, this.level + amount);
  }
};
var Limiter = class {
  requests;
  tokens;
  learnedRequests;
  learnedTokens;
  blockedUntil = 0;
  constructor(limits, now) {
    if (limits?.requestsPerMinute !== void 0) this.requests = new Bucket(limits.requestsPerMinute, now);
    if (limits?.tokensPerMinute !== void 0) this.tokens = new Bucket(limits.tokensPerMinute, now);
  }
  /** Reserves a slot; returns the wait and the limit that imposed it. */
  acquire(cost2, now) {
    let wait = Math.max(0, this.blockedUntil - now);
    let limit = "requests";
    const undo = [];
    if (this.requests !== void 0) {
      const bucket = this.requests;
      const w = bucket.take(1, now);
      undo.push(() => bucket.give(1, now));
      if (w > wait) wait = w;
    }
    if (this.tokens !== void 0) {
      const bucket = this.tokens;
      const w = bucket.take(cost2, now);
      undo.push(() => bucket.give(cost2, now));
      if (w > wait) {
        wait = w;
        limit = "tokens";
      }
    }
    const lr = this.learnedRequests;
    if (lr !== void 0 && now < lr.resetAt) {
      if (lr.remaining >= 1) {
        lr.remaining -= 1;
        undo.push(() => lr.remaining += 1);
      } else if (lr.resetAt - now > wait) {
        wait = lr.resetAt - now;
        limit = "requests";
      }
    }
    const lt = this.learnedTokens;
    if (lt !== void 0 && now < lt.resetAt) {
      if (lt.remaining >= cost2) {
        lt.remaining -= cost2;
        undo.push(() => lt.remaining += cost2);
      } else if (lt.resetAt - now > wait) {
        wait = lt.resetAt - now;
        limit = "tokens";
      }
    }
    return { wait, limit, undo: () => undo.forEach((f) => f()) };
  }
  learn(completion2, estimate, now, fromHeaders, configured) {
    const info = completion2.rateLimit;
    const actual = completion2.usage.inputTokens + completion2.usage.outputTokens;
    if (this.tokens !== void 0 && estimate !== actual) this.tokens.give(estimate - actual, now);
    if (!fromHeaders || info === void 0) return;
    if (info.remainingRequests !== void 0 && info.resetRequestsMillis !== void 0) {
      this.learnedRequests = { remaining: info.remainingRequests, resetAt: now + info.resetRequestsMillis };
    }
    if (info.remainingTokens !== void 0 && info.resetTokensMillis !== void 0) {
      this.learnedTokens = { remaining: info.remainingTokens, resetAt: now + info.resetTokensMillis };
    }
    if (configured?.requestsPerMinute === void 0 && info.limitRequests !== void 0) {
      if (this.requests?.perMinute !== info.limitRequests) this.requests = new Bucket(info.limitRequests, now);
    }
    if (configured?.tokensPerMinute === void 0 && info.limitTokens !== void 0) {
      if (this.tokens?.perMinute !== info.limitTokens) this.tokens = new Bucket(info.limitTokens, now);
    }
  }
  block(untilMillis) {
    if (untilMillis > this.blockedUntil) this.blockedUntil = untilMillis;
  }
};
var withLimits = dual8(
  (args) => isLanguageModel(args[0]),
  (self, options) => {
    const provider = self.provider;
    const learn = options?.learn ?? true;
    const failFast = options?.onLimit === "fail";
    const maxWait = Duration7.toMillis(options?.maxWait ?? Duration7.seconds(60));
    const estimate = options?.estimateTokens ?? estimateTokens;
    const limitsOption = options?.limits;
    const limitsOf = (model) => typeof limitsOption === "function" ? limitsOption(provider, model) : limitsOption;
    const limiters = /* @__PURE__ */ new Map();
    const limiterOf = (model, now) => {
      let limiter = limiters.get(model);
      if (limiter === void 0) {
        limiter = new Limiter(limitsOf(model), now);
        limiters.set(model, limiter);
      }
      return limiter;
    };
    const admit = (clock, limiter, model, cost2) => {
      const now = clock.unsafeCurrentTimeMillis();
      const { limit, undo, wait } = limiter.acquire(cost2, now);
      if (wait <= 0) return Effect15.void;
      if (failFast || wait > maxWait) {
        undo();
        return Effect15.fail(new RateLimited({ provider, model, retryAfter: Duration7.millis(wait), limit }));
      }
      return Effect15.zipRight(
        emit({ _tag: "RateLimitWait", provider, model, delayMillis: wait, limit }),
        // ends at the call's deadline (under a `Timeout` that delegates it), giving the slot back
        Effect15.tapError(sleepWithin2(wait), () => Effect15.sync(undo))
      );
    };
    const onError = (clock, limiter) => (error) => {
      if (learn && isTaggedError(error) && error._tag === "RateLimited" && error.retryAfter !== void 0) {
        limiter.block(clock.unsafeCurrentTimeMillis() + Duration7.toMillis(error.retryAfter));
      }
    };
    const onCompletion = (clock, limiter, model, cost2) => (completion2) => {
      if (learn || limiter.tokens !== void 0) {
        limiter.learn(completion2, cost2, clock.unsafeCurrentTimeMillis(), learn, limitsOf(model));
      }
    };
    return transform(self, {
      keepsDeadlines: true,
      generate: (generate2) => (request2) => Effect15.clockWith((clock) => {
        const model = request2.model ?? self.model;
        const limiter = limiterOf(model, clock.unsafeCurrentTimeMillis());
        const cost2 = estimate(request2);
        const learnFrom = onCompletion(clock, limiter, model, cost2);
        const failed = onError(clock, limiter);
        return Effect15.zipRight(
          admit(clock, limiter, model, cost2),
          generate2(request2).pipe(
            Effect15.tap((completion2) => Effect15.sync(() => learnFrom(completion2))),
            Effect15.tapError((error) => Effect15.sync(() => failed(error)))
          )
        );
      }),
      stream: (stream2) => (request2) => unwrap2(Effect15.clockWith((clock) => {
        const model = request2.model ?? self.model;
        const limiter = limiterOf(model, clock.unsafeCurrentTimeMillis());
        const cost2 = estimate(request2);
        const learnFrom = onCompletion(clock, limiter, model, cost2);
        const failed = onError(clock, limiter);
        return Effect15.as(
          admit(clock, limiter, model, cost2),
          stream2(request2).pipe(
            Stream8.mapChunks((chunk) => {
              for (const event of chunk) if (event._tag === "Finish") learnFrom(event.completion);
              return chunk;
            }),
            Stream8.tapError((error) => Effect15.sync(() => failed(error)))
          )
        );
      }))
    });
  }
);
var layer7 = (options) => Layer11.effect(
  LanguageModel,
  Effect15.map(LanguageModel, (model) => withLimits(model, options))
);

// src/Resilience.ts
var Resilience_exports = {};
__export(Resilience_exports, {
  layer: () => layer9,
  standard: () => standard3
});
import * as Effect17 from "effect/Effect";
import * as Layer13 from "effect/Layer";
import * as Option6 from "effect/Option";

// src/Retry.ts
var Retry_exports = {};
__export(Retry_exports, {
  backoff: () => backoff,
  defaultRetries: () => defaultRetries,
  layer: () => layer8,
  makeBudget: () => makeBudget,
  standard: () => standard2,
  withPolicy: () => withPolicy
});
import "effect/Clock";
import * as Duration8 from "effect/Duration";
import * as Effect16 from "effect/Effect";
import { dual as dual9 } from "effect/Function";
import * as Layer12 from "effect/Layer";
import * as Random from "effect/Random";
import * as Schedule from "effect/Schedule";
import * as ScheduleDecision from "effect/ScheduleDecision";
import * as Intervals from "effect/ScheduleIntervals";
import * as Stream9 from "effect/Stream";
var sleepWithin3 = (millis6) => sleepWithin(millis6);
var backoff = (options) => {
  const capMillis = Duration8.toMillis(options?.cap ?? Duration8.seconds(20));
  const full = (options?.jitter ?? "full") === "full";
  return Schedule.exponential(options?.base ?? Duration8.millis(500), options?.factor ?? 2).pipe(
    Schedule.modifyDelayEffect((_, delay) => {
      const capped = Math.min(capMillis, Duration8.toMillis(delay));
      return full ? Effect16.map(Random.next, (u) => Duration8.millis(Math.floor(capped * u))) : Effect16.succeed(Duration8.millis(capped));
    })
  );
};
var BudgetTypeId = /* @__PURE__ */ Symbol.for("@effect-llm/core/Retry/Budget");
var BUCKETS2 = 10;
var SlidingWindow = class {
  constructor(bucketMillis) {
    this.bucketMillis = bucketMillis;
  }
  bucketMillis;
  stamps = new Float64Array(BUCKETS2).fill(-1);
  calls = new Float64Array(BUCKETS2);
  retries = new Float64Array(BUCKETS2);
  slot(now) {
    const index = Math.floor(now / this.bucketMillis);
    const slot = index % BUCKETS2;
    if (this.stamps[slot] !== index) {
      this.stamps[slot] = index;
      this.calls[slot] = 0;
      this.retries[slot] = 0;
    }
    return slot;
  }
  totals(now) {
    const index = Math.floor(now / this.bucketMillis);
    let calls = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS2; i++) {
      const stamp = this.stamps[i];
      if (stamp > index - BUCKETS2 && stamp <= index) {
        calls += this.calls[i];
        retries += this.retries[i];
      }
    }
    return { calls, retries };
  }
};
var makeBudget = (options) => {
  const ratio = options?.ratio ?? 0.2;
  const minRetries = options?.minRetries ?? 10;
  const bucketMillis = Math.max(1, Duration8.toMillis(options?.window ?? Duration8.seconds(10)) / BUCKETS2);
  const windows = /* @__PURE__ */ new Map();
  const windowOf = (provider) => {
    let window = windows.get(provider);
    if (window === void 0) {
      window = new SlidingWindow(bucketMillis);
      windows.set(provider, window);
    }
    return window;
  };
  return {
    [BudgetTypeId]: BudgetTypeId,
    recordCall: (provider, now) => {
      const window = windowOf(provider);
      window.calls[window.slot(now)]++;
    },
    tryRetry: (provider, now) => {
      const window = windowOf(provider);
      const slot = window.slot(now);
      const { calls, retries } = window.totals(now);
      if (retries >= Math.max(minRetries, ratio * calls)) return false;
      window.retries[slot]++;
      return true;
    },
    usage: (provider, now) => windowOf(provider).totals(now)
  };
};
var defaultRetries = {
  RateLimited: 4,
  ServerError: 2,
  Overloaded: 2,
  ConnectionError: 2,
  Timeout: 2,
  MalformedResponse: 1
};
var standard2 = {
  schedule: backoff(),
  retries: defaultRetries,
  maxRetries: 4,
  maxRetryAfter: Duration8.seconds(30),
  budget: {}
};
var isBudget = (u) => typeof u === "object" && u !== null && BudgetTypeId in u;
var resolve = (options) => {
  const budget = options?.budget ?? {};
  return {
    schedule: options?.schedule ?? standard2.schedule,
    retries: options?.retries ?? defaultRetries,
    maxRetries: options?.maxRetries ?? 4,
    maxRetryAfterMillis: Duration8.toMillis(options?.maxRetryAfter ?? Duration8.seconds(30)),
    budget: budget === false ? void 0 : isBudget(budget) ? budget : makeBudget(budget)
  };
};
var Run = class {
  retries = 0;
  perTag = {};
  trail = [];
  state;
  constructor(initial) {
    this.state = initial;
  }
};
var decide = (policy, run, provider, model, error, started, clock) => {
  const now = clock.unsafeCurrentTimeMillis();
  if (!isTaggedError(error)) return Effect16.succeed(void 0);
  run.trail.push({ provider, model, outcome: error._tag, durationMillis: now - started });
  const giveUp = () => {
    setTrail(error, run.trail.slice());
    return Effect16.succeed(void 0);
  };
  const tag = error._tag;
  const allowed = policy.retries[tag] ?? 0;
  const done = run.perTag[tag] ?? 0;
  if (done >= allowed || run.retries >= policy.maxRetries) return giveUp();
  let retryAfterMillis = 0;
  if (tag === "RateLimited" && error.retryAfter !== void 0) {
    retryAfterMillis = Duration8.toMillis(error.retryAfter);
    if (retryAfterMillis > policy.maxRetryAfterMillis) return giveUp();
  }
  return Effect16.flatMap(policy.schedule.step(now, error, run.state), ([state2, , decision]) => {
    if (ScheduleDecision.isDone(decision)) return giveUp();
    if (policy.budget !== void 0 && !policy.budget.tryRetry(provider, now)) return giveUp();
    run.state = state2;
    run.retries++;
    run.perTag[tag] = done + 1;
    const delay = Math.max(retryAfterMillis, Intervals.start(decision.intervals) - now, 0);
    return Effect16.as(
      emit({
        _tag: "RetryScheduled",
        provider,
        model,
        attempt: run.retries + 1,
        delayMillis: delay,
        reason: tag
      }),
      delay
    );
  });
};
var targetModel = (self, request2) => request2.model ?? self.model;
var withPolicy = dual9(
  (args) => isLanguageModel(args[0]),
  (self, options) => {
    const policy = resolve(options);
    const provider = self.provider;
    return transform(self, {
      keepsDeadlines: true,
      generate: (generate2) => (request2) => Effect16.clockWith((clock) => {
        const model = targetModel(self, request2);
        const first = clock.unsafeCurrentTimeMillis();
        policy.budget?.recordCall(provider, first);
        let run;
        const attempt = (started) => Effect16.catchAll(
          run === void 0 ? generate2(request2) : Effect16.map(generate2(request2), (completion2) => prependTrail(completion2, run.trail)),
          (error) => {
            run ??= new Run(policy.schedule.initial);
            return Effect16.flatMap(decide(policy, run, provider, model, error, started, clock), (delay) => delay === void 0 ? Effect16.fail(error) : Effect16.zipRight(
              sleepWithin3(delay),
              Effect16.zipRight(
                emit({ _tag: "AttemptStarted", provider, model, attempt: run.retries + 1 }),
                Effect16.suspend(() => attempt(clock.unsafeCurrentTimeMillis()))
              )
            ));
          }
        );
        return attempt(first);
      }),
      stream: (stream2) => (request2) => unwrap2(Effect16.clockWith((clock) => {
        const model = targetModel(self, request2);
        const first = clock.unsafeCurrentTimeMillis();
        policy.budget?.recordCall(provider, first);
        let run;
        let emitted = false;
        const attempt = (started) => {
          const events = run === void 0 ? stream2(request2) : Stream9.map(stream2(request2), prependTrailEvent(run.trail.slice()));
          return events.pipe(
            Stream9.mapChunks((chunk) => {
              if (chunk.length > 0) emitted = true;
              return chunk;
            }),
            Stream9.catchAll((error) => {
              if (emitted) return Stream9.fail(error);
              run ??= new Run(policy.schedule.initial);
              return unwrap2(Effect16.map(
                decide(policy, run, provider, model, error, started, clock),
                (delay) => delay === void 0 ? Stream9.fail(error) : unwrap2(
                  Effect16.as(
                    Effect16.zipRight(
                      sleepWithin3(delay),
                      emit({ _tag: "AttemptStarted", provider, model, attempt: run.retries + 1 })
                    ),
                    Stream9.suspend(() => attempt(clock.unsafeCurrentTimeMillis()))
                  )
                )
              ));
            })
          );
        };
        return Effect16.succeed(attempt(first));
      }))
    });
  }
);
var layer8 = (options) => Layer12.effect(
  LanguageModel,
  Effect16.map(LanguageModel, (model) => withPolicy(model, options))
);

// src/Resilience.ts
var storeInContextOr = (store) => Effect17.map(Effect17.serviceOption(BreakerStore), Option6.getOrElse(() => store));
var standard3 = (options) => (self) => {
  const store = makeMemory();
  const timeouts = options?.timeout === false ? void 0 : options?.timeout ?? standard;
  const { connect, total: total2, ...perAttempt } = timeouts ?? {};
  const stack = (model) => {
    let out2 = model;
    if (options?.rateLimit !== false) out2 = withLimits(out2, options?.rateLimit);
    if (options?.breaker !== false) out2 = withStore(out2, storeInContextOr(store), options?.breaker);
    if (timeouts !== void 0 && Object.keys(perAttempt).length > 0) out2 = withTimeouts(out2, perAttempt);
    if (options?.retry !== false) out2 = withPolicy(out2, options?.retry ?? standard2);
    return out2;
  };
  let out = stack(self);
  for (const other of options?.fallback ?? []) {
    out = to(out, stack(other), options?.fallbackWhen ? { when: options.fallbackWhen } : void 0);
  }
  if (total2 !== void 0 || connect !== void 0) {
    out = withTimeouts(out, {
      ...total2 !== void 0 ? { total: total2 } : {},
      ...connect !== void 0 ? { connect } : {}
    });
  }
  return out;
};
var layer9 = (options) => Layer13.effect(
  LanguageModel,
  Effect17.gen(function* () {
    const model = yield* LanguageModel;
    const context6 = yield* Effect17.context();
    return provideContext2(standard3(options)(model), context6);
  })
);

// src/UsageLedger.ts
var UsageLedger_exports = {};
__export(UsageLedger_exports, {
  UsageLedger: () => UsageLedger,
  addEntry: () => addEntry,
  emptyTotals: () => emptyTotals,
  layer: () => layer10,
  layerMemory: () => layerMemory3,
  makeMemory: () => makeMemory3,
  metrics: () => metrics,
  track: () => track,
  updateMetrics: () => updateMetrics
});
import * as Cause2 from "effect/Cause";
import * as Clock6 from "effect/Clock";
import * as Context11 from "effect/Context";
import * as Duration9 from "effect/Duration";
import * as Effect18 from "effect/Effect";
import * as Exit2 from "effect/Exit";
import { dual as dual10 } from "effect/Function";
import * as Layer14 from "effect/Layer";
import * as Metric from "effect/Metric";
import * as MetricBoundaries from "effect/MetricBoundaries";
import * as MetricKey from "effect/MetricKey";
import * as MetricLabel from "effect/MetricLabel";
import * as Option7 from "effect/Option";
import * as Stream10 from "effect/Stream";
var UsageLedger = class extends Context11.Tag("@effect-llm/core/UsageLedger")() {
};
var emptyTotals = {
  calls: 0,
  failures: 0,
  inputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
  costUsd: 0,
  unpriced: 0,
  cacheHits: 0,
  savedUsd: 0,
  baselineCostUsd: 0,
  latencyMillis: 0
};
var addEntry = (totals, entry) => ({
  calls: totals.calls + 1,
  failures: totals.failures + (entry.outcome === "success" ? 0 : 1),
  inputTokens: totals.inputTokens + entry.usage.inputTokens,
  cachedInputTokens: totals.cachedInputTokens + entry.usage.cachedInputTokens,
  cacheWriteInputTokens: totals.cacheWriteInputTokens + entry.usage.cacheWriteInputTokens,
  outputTokens: totals.outputTokens + entry.usage.outputTokens,
  reasoningTokens: totals.reasoningTokens + entry.usage.reasoningTokens,
  costUsd: totals.costUsd + (entry.costUsd ?? 0),
  unpriced: totals.unpriced + (entry.costUsd === void 0 && entry.outcome === "success" ? 1 : 0),
  cacheHits: totals.cacheHits + (entry.cache === "hit" ? 1 : 0),
  savedUsd: totals.savedUsd + (entry.baselineCostUsd === void 0 ? 0 : entry.baselineCostUsd - (entry.costUsd ?? 0)),
  baselineCostUsd: totals.baselineCostUsd + (entry.baselineCostUsd ?? 0),
  latencyMillis: totals.latencyMillis + entry.latencyMillis
});
var groupKey = (entry, by) => {
  const value = entry[by];
  return value === void 0 ? "(none)" : value;
};
var makeMemory3 = (options) => {
  const max = options?.maxEntries ?? 1e5;
  let log = [];
  const select = (query, now) => {
    if (log.length > max) log = log.slice(log.length - max);
    if (query === void 0) return log.slice();
    const since = Math.max(
      query.since ?? Number.NEGATIVE_INFINITY,
      query.window === void 0 ? Number.NEGATIVE_INFINITY : now - Duration9.toMillis(query.window)
    );
    const until = query.until ?? Number.POSITIVE_INFINITY;
    return log.filter(
      (e) => e.at > since - (query.window === void 0 ? 1 : 0) && e.at <= until && (query.provider === void 0 || e.provider === query.provider) && (query.model === void 0 || e.model === query.model) && (query.tier === void 0 || e.tier === query.tier) && (query.user === void 0 || e.user === query.user) && (query.feature === void 0 || e.feature === query.feature) && (query.outcome === void 0 || e.outcome === query.outcome)
    );
  };
  return {
    record: (entry) => Effect18.sync(() => {
      log.push(entry);
      if (log.length > max + Math.max(16, max >> 3)) log = log.slice(log.length - max);
    }),
    entries: (query) => Effect18.map(Clock6.currentTimeMillis, (now) => select(query, now)),
    totals: (query) => Effect18.map(Clock6.currentTimeMillis, (now) => select(query, now).reduce(addEntry, emptyTotals)),
    totalsBy: (by, query) => Effect18.map(Clock6.currentTimeMillis, (now) => {
      const out = /* @__PURE__ */ new Map();
      for (const entry of select(query, now)) {
        const key2 = groupKey(entry, by);
        out.set(key2, addEntry(out.get(key2) ?? emptyTotals, entry));
      }
      return out;
    })
  };
};
var layerMemory3 = (options) => Layer14.sync(UsageLedger, () => makeMemory3(options));
var latencyBoundaries = MetricBoundaries.exponential({ start: 50, factor: 2, count: 12 });
var metrics = {
  calls: Metric.counter("effect_llm.calls", { description: "Model calls, by provider, model and outcome" }),
  tokens: Metric.counter("effect_llm.tokens", { description: "Tokens, by provider, model and type" }),
  costUsd: Metric.counter("effect_llm.cost_usd", { description: "Spend in USD, by provider and model" }),
  latency: Metric.histogram("effect_llm.latency_ms", latencyBoundaries, "Call latency in milliseconds")
};
var taggedCache = /* @__PURE__ */ new Map();
var taggedFor = (provider, model, outcome) => {
  const key2 = `${provider}\0${model}\0${outcome}`;
  let found = taggedCache.get(key2);
  if (found === void 0) {
    const labels = (...pairs) => pairs.map(([k, v]) => MetricLabel.make(k, v));
    const p = ["provider", provider];
    const m = ["model", model];
    const o = ["outcome", outcome];
    const counter3 = (name, description, tags2) => Metric.fromMetricKey(MetricKey.taggedWithLabels(MetricKey.counter(name, { description }), tags2));
    const tokens2 = (type) => counter3("effect_llm.tokens", "Tokens, by provider, model and type", labels(p, m, ["type", type]));
    found = {
      calls: counter3("effect_llm.calls", "Model calls, by provider, model and outcome", labels(p, m, o)),
      input: tokens2("input"),
      cached: tokens2("cached_input"),
      cacheWrite: tokens2("cache_write"),
      output: tokens2("output"),
      cost: counter3("effect_llm.cost_usd", "Spend in USD, by provider and model", labels(p, m)),
      latency: Metric.fromMetricKey(
        MetricKey.taggedWithLabels(
          MetricKey.histogram("effect_llm.latency_ms", latencyBoundaries, "Call latency in milliseconds"),
          labels(p, m, o)
        )
      )
    };
    if (taggedCache.size < 1e4) taggedCache.set(key2, found);
  }
  return found;
};
var updateMetrics = (entry) => {
  const m = taggedFor(entry.provider, entry.model, entry.outcome);
  const uncached = entry.usage.inputTokens - entry.usage.cachedInputTokens - entry.usage.cacheWriteInputTokens;
  return Effect18.sync(() => {
    m.calls.unsafeUpdate(1, noTags);
    m.latency.unsafeUpdate(entry.latencyMillis, noTags);
    if (uncached > 0) m.input.unsafeUpdate(uncached, noTags);
    if (entry.usage.cachedInputTokens > 0) m.cached.unsafeUpdate(entry.usage.cachedInputTokens, noTags);
    if (entry.usage.cacheWriteInputTokens > 0) m.cacheWrite.unsafeUpdate(entry.usage.cacheWriteInputTokens, noTags);
    if (entry.usage.outputTokens > 0) m.output.unsafeUpdate(entry.usage.outputTokens, noTags);
    if (entry.costUsd !== void 0 && entry.costUsd > 0) m.cost.unsafeUpdate(entry.costUsd, noTags);
  });
};
var noTags = [];
var outcomeOf = (exit) => {
  if (Exit2.isSuccess(exit)) return "success";
  const failure = Cause2.failureOption(exit.cause);
  if (Option7.isSome(failure)) {
    const error = failure.value;
    return typeof error === "object" && error !== null && typeof error._tag === "string" ? error._tag : "failure";
  }
  return Cause2.isInterruptedOnly(exit.cause) ? "interrupted" : "defect";
};
var apply2 = (self, options) => {
  const withMetrics = options?.metrics ?? true;
  const baseline = options?.savingsBaseline;
  const entryOf = (catalog, request2, completion2, outcome, started, now) => {
    const usage = completion2?.usage ?? emptyUsage;
    let model = request2.model ?? self.model;
    let costUsd;
    let baselineCostUsd;
    if (completion2 !== void 0) {
      model = completion2.model;
      costUsd = completion2.costUsd;
      if (Option7.isSome(catalog)) {
        const info = findFor(catalog.value, completion2);
        if (Option7.isSome(info)) {
          model = info.value.model;
          if (costUsd === void 0) costUsd = cost(usage, info.value);
        }
        if (baseline !== void 0) {
          const base2 = catalog.value.find(baseline.provider, baseline.model);
          if (Option7.isSome(base2)) baselineCostUsd = cost(usage, base2.value);
        }
      }
    }
    const hit = completion2?.cache === "hit";
    if (hit) {
      baselineCostUsd = Math.max(baselineCostUsd ?? 0, costUsd ?? 0);
      costUsd = 0;
    }
    return {
      at: now,
      provider: completion2?.provider ?? self.provider,
      model,
      tier: completion2?.tier ?? request2.tier,
      user: request2.user,
      feature: request2.feature,
      usage: hit ? emptyUsage : usage,
      costUsd,
      baselineCostUsd,
      latencyMillis: now - started,
      cache: completion2?.cache,
      outcome
    };
  };
  const write = (ledger, catalog, request2, completion2, outcome, started) => Effect18.flatMap(Clock6.currentTimeMillis, (now) => {
    const entry = entryOf(catalog, request2, completion2, outcome, started, now);
    return withMetrics ? Effect18.zipRight(ledger.record(entry), updateMetrics(entry)) : ledger.record(entry);
  });
  return transform(self, {
    keepsDeadlines: true,
    generate: (generate2) => (request2) => Effect18.flatMap(
      UsageLedger,
      (ledger) => Effect18.flatMap(Effect18.serviceOption(ModelCatalog), (catalog) => Effect18.flatMap(Clock6.currentTimeMillis, (started) => Effect18.onExit(generate2(request2), (exit) => write(
        ledger,
        catalog,
        request2,
        Exit2.isSuccess(exit) ? exit.value : void 0,
        outcomeOf(exit),
        started
      ))))
    ),
    stream: (stream2) => (request2) => unwrap2(
      Effect18.gen(function* () {
        const ledger = yield* UsageLedger;
        const catalog = yield* Effect18.serviceOption(ModelCatalog);
        const started = yield* Clock6.currentTimeMillis;
        let finish2;
        return stream2(request2).pipe(
          Stream10.map((event) => {
            if (event._tag === "Finish") finish2 = event.completion;
            return event;
          }),
          Stream10.ensuringWith(
            (exit) => write(
              ledger,
              catalog,
              request2,
              finish2,
              Exit2.isSuccess(exit) && finish2 === void 0 ? "interrupted" : finish2 !== void 0 ? "success" : outcomeOf(exit),
              started
            )
          )
        );
      })
    )
  });
};
var track = dual10(
  (args) => isLanguageModel(args[0]),
  (self, options) => apply2(self, options)
);
var layer10 = (options) => Layer14.effect(
  LanguageModel,
  Effect18.gen(function* () {
    const ledger = yield* UsageLedger;
    const catalog = yield* Effect18.serviceOption(ModelCatalog);
    const model = yield* LanguageModel;
    const context6 = Option7.isSome(catalog) ? Context11.add(Context11.make(UsageLedger, ledger), ModelCatalog, catalog.value) : Context11.make(UsageLedger, ledger);
    return provideContext2(track(model, options), context6);
  })
);

// ../../bench/tmp/stackcost.ts
import { Effect as Effect19, Layer as Layer15, ManagedRuntime, Stream as Stream11 } from "effect";
var completion = { text: "hello world", finishReason: "stop", usage: { ...emptyUsage, inputTokens: 20, outputTokens: 12 }, provider: "openai", model: "gpt-5-mini", servedModel: "gpt-5-mini", attempts: [] };
var fake = LanguageModel_exports.make({
  provider: "openai",
  model: "gpt-5-mini",
  enforcesDeadlines: process.env.ENFORCE !== "0",
  generate: () => Effect19.succeed(completion),
  stream: () => Stream11.fromIterable([...Array.from({ length: 6 }, (_, i) => textDelta("w" + i)), finish(completion)])
});
var base = LanguageModel_exports.layer(fake);
globalThis.__store = BreakerStore_exports.makeMemory();
var costStores = Layer15.mergeAll(BudgetStore_exports.layerMemory, ModelCatalog_exports.layer, Tokenizer_exports.layer, UsageLedger_exports.layerMemory());
var wrap = (f) => LanguageModel_exports.layer(f(fake));
var stacks = {
  base,
  timeout: wrap((m) => Timeout_exports.withTimeouts(m, Timeout_exports.standard)),
  retry: wrap((m) => Retry_exports.withPolicy(m, Retry_exports.standard)),
  breaker: wrap((m) => CircuitBreaker_exports.withStore(m, Effect19.succeed(require_store()))),
  ratelimit: wrap((m) => RateLimit_exports.withLimits(m)),
  preset: Resilience_exports.layer().pipe(Layer15.provide(base)),
  presetNoTimeout: Resilience_exports.layer({ timeout: false }).pipe(Layer15.provide(base)),
  cost: ModelCatalog_exports.layerCost.pipe(Layer15.provide(Resilience_exports.layer().pipe(Layer15.provide(base))), Layer15.provide(costStores)),
  onlyBudget: Budget_exports.layer({ perUser: [Budget_exports.usd(1e6, Budget_exports.daily())] }).pipe(
    Layer15.provide(ModelCatalog_exports.layerCost),
    Layer15.provide(Resilience_exports.layer().pipe(Layer15.provide(base))),
    Layer15.provide(costStores)
  ),
  onlyLedger: UsageLedger_exports.layer().pipe(
    Layer15.provide(ModelCatalog_exports.layerCost),
    Layer15.provide(Resilience_exports.layer().pipe(Layer15.provide(base))),
    Layer15.provide(costStores)
  ),
  budget: UsageLedger_exports.layer().pipe(
    Layer15.provide(Budget_exports.layer({ perUser: [Budget_exports.usd(1e6, Budget_exports.daily())] })),
    Layer15.provide(ModelCatalog_exports.layerCost),
    Layer15.provide(Resilience_exports.layer().pipe(Layer15.provide(base))),
    Layer15.provide(costStores)
  )
};
function require_store() {
  return globalThis.__store;
}
var request = { messages: [{ role: "user", content: "Summarise the benefits of typed errors in two sentences." }], maxOutputTokens: 64, user: "bench-user" };
var only = process.argv.slice(2);
for (const [name, layer11] of Object.entries(stacks)) {
  if (only.length && !only.includes(name)) continue;
  const rt = ManagedRuntime.make(layer11);
  const model = await rt.runPromise(LanguageModel_exports.LanguageModel);
  for (const op of (process.env.OPS ?? "generate,stream").split(",")) {
    const eff = op === "generate" ? model.generate(request) : Stream11.runDrain(model.stream(request));
    await rt.runPromise(Effect19.repeatN(eff, Number(process.env.WARM ?? 2e3)));
    const times = [];
    for (let r = 0; r < 7; r++) {
      const c = process.cpuUsage();
      await rt.runPromise(Effect19.repeatN(eff, 999));
      const d = process.cpuUsage(c);
      times.push((d.user + d.system) / 1e3);
    }
    times.sort((a, b) => a - b);
    const c64 = [];
    for (let r = 0; r < 3; r++) {
      const s = performance.now();
      await rt.runPromise(Effect19.forEach(Array.from({ length: 2e3 }), () => eff, { concurrency: 64, discard: true }));
      c64.push((performance.now() - s) / 2);
    }
    c64.sort((a, b) => a - b);
    console.log(name.padEnd(16), op.padEnd(9), "c1", times[3].toFixed(1).padStart(6), "us/call   c64", c64[1].toFixed(1).padStart(6), "us/call");
  }
  await rt.dispose();
}
