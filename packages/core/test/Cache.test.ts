import { CallEvent, LanguageModel, LlmError } from "@effect-llm/core"
import * as Cache from "@effect-llm/core/Cache"
import * as CacheStore from "@effect-llm/core/CacheStore"
import type { Completion } from "@effect-llm/core/Completion"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import type * as StreamEvent from "@effect-llm/core/StreamEvent"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Fiber, Layer, Metric, Stream, TestClock } from "effect"
import { expectTypeOf } from "vitest"
import { ask, defaultModel, makeFake, provider, serverError, settle, split, usage } from "./cacheFixtures.js"
import { refusesFor } from "./invalidOptionsFixtures.js"
import { type Api, apis, runEvents, takeEvents } from "./streamApis.js"

const Store = CacheStore.layerMemory()

/** The memory store without its sync face: a store with effects only. */
const effectsOnly = (): CacheStore.Service => {
  const { sync: _, ...effects } = CacheStore.makeMemory()
  return effects
}

const stores = [
  ["memory store", Store],
  ["a store with effects only", Layer.sync(CacheStore.CacheStore, effectsOnly)]
] as const

/** A streamed call through `api`, its events split into deltas and the finish. */
const collect = <E, R>(model: LanguageModel.With<E, R>, request: GenerateRequest, api: Api) =>
  Effect.map(runEvents(model, request, api), split)

const lookups = () => {
  const events: Array<CallEvent.CallEvent> = []
  const listener: CallEvent.Listener = (event) =>
    Effect.sync(() => {
      if (event._tag === "CacheLookup") events.push(event)
    })
  return { events, listener }
}

describe("Cache", () => {
  describe("what is cached", () => {
    it.effect("a deterministic call is answered once, then from the cache", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        const model = fake.model.pipe(Cache.withCache())
        const first = yield* model.generate(ask("hi"))
        const second = yield* model.generate(ask("hi"))
        assert.strictEqual(fake.state.calls, 1)
        assert.strictEqual(first.cache, "miss")
        assert.strictEqual(second.cache, "hit")
        assert.strictEqual(second.text, "answer 1")
        // a hit keeps the original usage and cost (what it saved) and made no model call
        assert.deepStrictEqual(second.usage, usage)
        assert.strictEqual(second.costUsd, 0.002)
        assert.deepStrictEqual(second.attempts, [])
        assert.strictEqual(first.attempts.length, 1)
        const other = yield* model.generate(ask("hello"))
        assert.strictEqual(other.cache, "miss")
        assert.strictEqual(fake.state.calls, 2)
      }).pipe(Effect.provide(Store)))

    it.effect("a call with a seed is cached; one with temperature > 0 or unset is not", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        const model = Cache.withCache(fake.model)
        const seeded: GenerateRequest = { messages: [{ role: "user", content: "hi" }], temperature: 0.7, seed: 1 }
        yield* model.generate(seeded)
        assert.strictEqual((yield* model.generate(seeded)).cache, "hit")
        const warm: GenerateRequest = { messages: [{ role: "user", content: "hi" }], temperature: 0.7 }
        const unset: GenerateRequest = { messages: [{ role: "user", content: "hi" }] }
        for (const request of [warm, warm, unset, unset]) {
          const completion = yield* model.generate(request)
          assert.strictEqual(completion.cache, "bypass")
        }
        assert.strictEqual(fake.state.calls, 5)
      }).pipe(Effect.provide(Store)))

    it.effect("a call the cache does not apply to is not hashed (its messages are never read)", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        const model = Cache.withCache(fake.model)
        const read: Array<string | symbol> = []
        const request = new Proxy({ messages: [{ role: "user" as const, content: "hi" }], temperature: 1 }, {
          get: (target, property, receiver) => {
            read.push(property)
            return Reflect.get(target, property, receiver)
          }
        })
        // the fake model reads nothing but `model`; the cache must not read `messages` to hash them
        const completion = yield* model.generate(request)
        assert.strictEqual(completion.cache, "bypass")
        assert.notInclude(read, "messages")
        for (const api of apis) {
          const streamed = yield* collect(model, request, api)
          assert.strictEqual(streamed.finish?.cache, "bypass")
        }
        assert.notInclude(read, "messages")
      }).pipe(Effect.provide(Store)))

    it.effect("`when` widens or narrows what is cached", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        const always = Cache.withCache(fake.model, { when: "always" })
        const warm: GenerateRequest = { messages: [{ role: "user", content: "hi" }], temperature: 1 }
        yield* always.generate(warm)
        assert.strictEqual((yield* always.generate(warm)).cache, "hit")
        const optIn = Cache.withCache(fake.model, {
          when: (request) => Cache.isDeterministic(request) || request.metadata?.["cache"] === "on"
        })
        const tagged: GenerateRequest = { ...warm, messages: [{ role: "user", content: "tagged" }] }
        yield* optIn.generate({ ...tagged, metadata: { cache: "on" } })
        assert.strictEqual((yield* optIn.generate({ ...tagged, metadata: { cache: "on" } })).cache, "hit")
        assert.strictEqual((yield* optIn.generate(tagged)).cache, "bypass")
        assert.strictEqual(fake.state.calls, 3)
      }).pipe(Effect.provide(Store)))

    it.effect("errors are never cached (ContentFiltered and provider errors alike)", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        const model = Cache.withCache(fake.model)
        const filtered = new LlmError.ContentFiltered({ provider, model: defaultModel, stage: "output" })
        fake.state.script.push({ fail: filtered }, { fail: serverError })
        assert.strictEqual(yield* Effect.flip(model.generate(ask("hi"))), filtered)
        assert.strictEqual(yield* Effect.flip(model.generate(ask("hi"))), serverError)
        const ok = yield* model.generate(ask("hi"))
        assert.strictEqual(ok.cache, "miss")
        assert.strictEqual(ok.text, "answer 3")
        assert.strictEqual((yield* model.generate(ask("hi"))).text, "answer 3")
        assert.strictEqual(fake.state.calls, 3)
      }).pipe(Effect.provide(Store)))

    it.effect("filtered answers are never cached; answers cut by length only when asked", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        const model = Cache.withCache(fake.model)
        for (const finishReason of ["content-filter", "other", "length"] as const) {
          fake.state.script.push({ finishReason })
          const request = ask(finishReason)
          yield* model.generate(request)
          const again = yield* model.generate(request)
          assert.strictEqual(again.cache, "miss", finishReason)
        }
        assert.strictEqual(fake.state.calls, 6)
        const truncating = Cache.withCache(fake.model, { cacheTruncated: true })
        fake.state.script.push({ finishReason: "length" })
        yield* truncating.generate(ask("cut"))
        const hit = yield* truncating.generate(ask("cut"))
        assert.strictEqual(hit.cache, "hit")
        assert.strictEqual(hit.finishReason, "length")
      }).pipe(Effect.provide(Store)))

    for (const api of apis) {
      it.effect(`a stream that failed or was stopped early is never cached (${api})`, () =>
        Effect.gen(function*() {
          const fake = makeFake()
          const model = Cache.withCache(fake.model)
          const cut = new LlmError.StreamInterrupted({
            provider,
            model: defaultModel,
            partialText: "part",
            detail: "socket closed"
          })
          fake.state.script.push({ chunks: ["part"], fail: cut })
          const failed = yield* Effect.flip(runEvents(model, ask("s"), api))
          assert.strictEqual(failed, cut)
          // the consumer stops after the first delta: the upstream call is interrupted, nothing is kept
          fake.state.script.push({ chunks: ["a", "b", "c"], chunkDelay: "1 second" })
          const fiber = yield* Effect.fork(takeEvents(model, ask("s"), api, 1))
          yield* TestClock.adjust("1 second")
          const taken = yield* Fiber.join(fiber)
          assert.strictEqual(taken.length, 1)
          assert.strictEqual(fake.state.interrupted, 1)
          const full = yield* collect(model, ask("s"), api)
          assert.strictEqual(full.finish?.cache, "miss")
          assert.strictEqual(fake.state.calls, 3)
          assert.strictEqual((yield* collect(model, ask("s"), api)).finish?.cache, "hit")
          assert.strictEqual(fake.state.calls, 3)
        }).pipe(Effect.provide(Store)))
    }
  })

  describe("controls", () => {
    it.effect("bypass neither reads nor writes; refresh skips the read and writes the fresh answer", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        const model = Cache.withCache(fake.model)
        const bypassed = yield* model.generate(ask("hi", { cache: { mode: "bypass" } }))
        assert.strictEqual(bypassed.cache, "bypass")
        const first = yield* model.generate(ask("hi"))
        assert.strictEqual(first.cache, "miss") // the bypassed answer was not written
        const bypassedAgain = yield* model.generate(ask("hi", { cache: { mode: "bypass" } }))
        assert.strictEqual(bypassedAgain.text, "answer 3") // and a stored one is not read
        const refreshed = yield* model.generate(ask("hi", { cache: { mode: "refresh" } }))
        assert.strictEqual(refreshed.cache, "miss")
        assert.strictEqual(refreshed.text, "answer 4")
        const after = yield* model.generate(ask("hi"))
        assert.strictEqual(after.cache, "hit")
        assert.strictEqual(after.text, "answer 4")
        assert.strictEqual(fake.state.calls, 4)
      }).pipe(Effect.provide(Store)))

    it.effect("entries expire after the TTL (TestClock); a request's ttl wins", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        const model = Cache.withCache(fake.model, { ttl: "1 hour" })
        yield* model.generate(ask("hi"))
        yield* TestClock.adjust("59 minutes")
        assert.strictEqual((yield* model.generate(ask("hi"))).cache, "hit")
        yield* TestClock.adjust("1 minute")
        const expired = yield* model.generate(ask("hi"))
        assert.strictEqual(expired.cache, "miss")
        assert.strictEqual(expired.text, "answer 2")
        const short = ask("short", { cache: { ttl: Duration.seconds(10) } })
        yield* model.generate(short)
        yield* TestClock.adjust("9 seconds")
        assert.strictEqual((yield* model.generate(short)).cache, "hit")
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* model.generate(short)).cache, "miss")
        assert.strictEqual(fake.state.calls, 4)
      }).pipe(Effect.provide(Store)))

    it.effect("namespaces do not share answers", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        const model = Cache.withCache(fake.model, { namespace: "app" })
        yield* model.generate(ask("hi"))
        assert.strictEqual((yield* model.generate(ask("hi", { cache: { namespace: "other" } }))).cache, "miss")
        assert.strictEqual((yield* model.generate(ask("hi", { cache: { namespace: "other" } }))).cache, "hit")
        assert.strictEqual((yield* model.generate(ask("hi"))).cache, "hit")
        const unspaced = Cache.withCache(fake.model)
        assert.strictEqual((yield* unspaced.generate(ask("hi"))).cache, "miss")
        assert.strictEqual(fake.state.calls, 3)
      }).pipe(Effect.provide(Store)))

    it.effect("scope: global answers are shared between users; user-scoped ones are not", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        const global = Cache.withCache(fake.model)
        yield* global.generate(ask("hi", { user: "u1" }))
        assert.strictEqual((yield* global.generate(ask("hi", { user: "u2" }))).cache, "hit")
        const perUser = Cache.withCache(fake.model, { scope: "user" })
        assert.strictEqual((yield* perUser.generate(ask("mine", { user: "u1" }))).cache, "miss")
        assert.strictEqual((yield* perUser.generate(ask("mine", { user: "u2" }))).cache, "miss")
        const again = yield* perUser.generate(ask("mine", { user: "u1" }))
        assert.strictEqual(again.cache, "hit")
        assert.strictEqual(again.text, "answer 2")
        // user scope without a user: not cached at all
        assert.strictEqual((yield* perUser.generate(ask("mine"))).cache, "bypass")
        assert.strictEqual((yield* perUser.generate(ask("mine"))).cache, "bypass")
        // a request can ask for user scope itself
        yield* global.generate(ask("req", { user: "u1", cache: { scope: "user" } }))
        assert.strictEqual((yield* global.generate(ask("req", { user: "u2", cache: { scope: "user" } }))).cache, "miss")
        assert.strictEqual(fake.state.calls, 7)
      }).pipe(Effect.provide(Store)))

    it.effect("model and provider are part of the key: a request naming another model misses", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        const model = Cache.withCache(fake.model)
        yield* model.generate(ask("hi"))
        assert.strictEqual((yield* model.generate(ask("hi", { model: "fake-2" }))).cache, "miss")
        assert.strictEqual((yield* model.generate(ask("hi", { model: defaultModel }))).cache, "hit")
      }).pipe(Effect.provide(Store)))
  })

  // the memory store is read and written in plain code (its sync face); a store with effects only
  // (a shared one) takes the general path: both keep the single-flight guarantees
  for (const [storeName, Store] of stores) {
    describe(`single-flight (${storeName})`, () => {
      it.effect("N concurrent identical calls make one upstream call", () =>
        Effect.gen(function*() {
          const fake = makeFake({ defaults: { delay: "1 second" } })
          const model = Cache.withCache(fake.model)
          const fiber = yield* Effect.fork(Effect.all(Array.from({ length: 10 }, () => model.generate(ask("hi"))), {
            concurrency: "unbounded"
          }))
          yield* settle
          yield* TestClock.adjust("1 second")
          const completions = yield* Fiber.join(fiber)
          assert.strictEqual(fake.state.calls, 1)
          assert.deepStrictEqual(completions.map((c) => c.text), Array(10).fill("answer 1"))
          assert.deepStrictEqual(
            completions.map((c) => c.cache).sort(),
            ["hit", "hit", "hit", "hit", "hit", "hit", "hit", "hit", "hit", "miss"]
          )
          // and the answer was stored
          assert.strictEqual((yield* model.generate(ask("hi"))).cache, "hit")
          assert.strictEqual(fake.state.calls, 1)
        }).pipe(Effect.provide(Store)))

      it.effect("when the leader fails, the followers get the same typed failure; nothing is kept", () =>
        Effect.gen(function*() {
          const fake = makeFake({ defaults: { delay: "1 second" } })
          fake.state.script.push({ fail: serverError, delay: "1 second" })
          const model = Cache.withCache(fake.model)
          const fibers = yield* Effect.forEach([1, 2, 3], () => Effect.fork(model.generate(ask("hi"))))
          yield* settle
          yield* TestClock.adjust("1 second")
          for (const fiber of fibers) {
            const exit = yield* Fiber.await(fiber)
            assert.deepStrictEqual(exit, Exit.fail(serverError))
          }
          assert.strictEqual(fake.state.calls, 1)
          const next = yield* Effect.fork(model.generate(ask("hi")))
          yield* TestClock.adjust("1 second")
          assert.strictEqual((yield* Fiber.join(next)).cache, "miss")
          assert.strictEqual(fake.state.calls, 2)
        }).pipe(Effect.provide(Store)))

      it.effect("a call built while the same call is in flight and run after it reads the stored answer", () =>
        Effect.gen(function*() {
          const fake = makeFake({ defaults: { delay: "1 second" } })
          // the store given directly (as the layer form does): the decision is still made when the call runs
          const model = Cache.withStore(fake.model, yield* CacheStore.CacheStore)
          const leader = yield* Effect.fork(model.generate(ask("hi")))
          yield* settle
          const later = model.generate(ask("hi"))
          yield* TestClock.adjust("1 second")
          assert.strictEqual((yield* Fiber.join(leader)).cache, "miss")
          assert.strictEqual((yield* later).cache, "hit")
          assert.strictEqual(fake.state.calls, 1)
        }).pipe(Effect.provide(Store)))

      it.effect("interrupting a follower, even the first caller, leaves the call running for the others", () =>
        Effect.gen(function*() {
          const fake = makeFake({ defaults: { delay: "1 second" } })
          const model = Cache.withCache(fake.model)
          const [first, second, third] = yield* Effect.forEach([1, 2, 3], () => Effect.fork(model.generate(ask("hi"))))
          yield* settle
          yield* Fiber.interrupt(second!)
          yield* Fiber.interrupt(first!) // the one who started the call
          assert.strictEqual(fake.state.interrupted, 0)
          yield* TestClock.adjust("1 second")
          const completion = yield* Fiber.join(third!)
          assert.strictEqual(completion.text, "answer 1")
          // the first caller left, so the one that stayed paid for the call
          assert.strictEqual(completion.cache, "miss")
          assert.strictEqual(fake.state.calls, 1)
          assert.strictEqual(fake.state.interrupted, 0)
          assert.strictEqual((yield* model.generate(ask("hi"))).cache, "hit")
        }).pipe(Effect.provide(Store)))

      it.effect("interrupting every caller interrupts the upstream call", () =>
        Effect.gen(function*() {
          const fake = makeFake({ defaults: { delay: "1 second" } })
          const model = Cache.withCache(fake.model)
          const fibers = yield* Effect.forEach([1, 2, 3], () => Effect.fork(model.generate(ask("hi"))))
          yield* settle
          yield* Fiber.interrupt(fibers[0]!)
          yield* Fiber.interrupt(fibers[1]!)
          assert.strictEqual(fake.state.interrupted, 0)
          yield* Fiber.interrupt(fibers[2]!)
          assert.strictEqual(fake.state.interrupted, 1)
          // nothing stored, and a new call starts a new upstream call
          const next = yield* Effect.fork(model.generate(ask("hi")))
          yield* settle
          yield* TestClock.adjust("1 second")
          const completion = yield* Fiber.join(next)
          assert.strictEqual(completion.cache, "miss")
          assert.strictEqual(completion.text, "answer 2")
        }).pipe(Effect.provide(Store)))

      for (const api of apis) {
        it.effect(`a stream caller joins a generate call in flight, and the other way round (${api})`, () =>
          Effect.gen(function*() {
            const fake = makeFake({ defaults: { delay: "1 second" } })
            const model = Cache.withCache(fake.model)
            const leader = yield* Effect.fork(model.generate(ask("g")))
            yield* settle
            const streamer = yield* Effect.fork(collect(model, ask("g"), api))
            yield* settle
            yield* TestClock.adjust("1 second")
            assert.strictEqual((yield* Fiber.join(leader)).cache, "miss")
            const streamed = yield* Fiber.join(streamer)
            assert.deepStrictEqual(streamed.deltas, ["answer 1"])
            assert.strictEqual(streamed.finish?.cache, "hit")

            const streamLeader = yield* Effect.fork(collect(model, ask("s"), api))
            yield* settle
            const generator = yield* Effect.fork(model.generate(ask("s")))
            yield* settle
            yield* TestClock.adjust("1 second")
            assert.strictEqual((yield* Fiber.join(streamLeader)).finish?.cache, "miss")
            const generated = yield* Fiber.join(generator)
            assert.strictEqual(generated.text, "answer 2")
            assert.strictEqual(generated.cache, "hit")
            assert.strictEqual(fake.state.calls, 2)
          }).pipe(Effect.provide(Store)))
      }
    })
  }

  describe("streams", () => {
    for (const api of apis) {
      it.effect(`a finished stream is stored and replayed with the same chunks (${api})`, () =>
        Effect.gen(function*() {
          const fake = makeFake()
          fake.state.script.push({ chunks: ["The ", "quick ", "", "brown fox."] })
          const model = Cache.withCache(fake.model)
          const first = yield* collect(model, ask("story"), api)
          const second = yield* collect(model, ask("story"), api)
          assert.deepStrictEqual(first.deltas, ["The ", "quick ", "", "brown fox."])
          assert.deepStrictEqual(second.deltas, first.deltas)
          assert.strictEqual(first.finish?.cache, "miss")
          assert.strictEqual(second.finish?.cache, "hit")
          assert.strictEqual(second.finish?.text, "The quick brown fox.")
          assert.strictEqual(fake.state.calls, 1)
          // generate is answered from the streamed entry too
          const generated = yield* model.generate(ask("story"))
          assert.strictEqual(generated.cache, "hit")
          assert.strictEqual(generated.text, "The quick brown fox.")
          // and a stream from a generated entry is one delta
          yield* model.generate(ask("whole"))
          const fromGenerate = yield* collect(model, ask("whole"), api)
          assert.deepStrictEqual(fromGenerate.deltas, ["answer 2"])
          assert.strictEqual(fromGenerate.finish?.cache, "hit")
        }).pipe(Effect.provide(Store)))

      it.effect(`a stream the cache does not apply to is passed through and marked bypass (${api})`, () =>
        Effect.gen(function*() {
          const fake = makeFake()
          fake.state.script.push({ chunks: ["x", "y"] })
          const model = Cache.withCache(fake.model)
          const { events, listener } = lookups()
          const request: GenerateRequest = { messages: [{ role: "user", content: "hot" }], temperature: 1 }
          const first = yield* CallEvent.listen(collect(model, request, api), listener)
          assert.deepStrictEqual(first.deltas, ["x", "y"])
          assert.strictEqual(first.finish?.cache, "bypass")
          assert.strictEqual((yield* collect(model, request, api)).finish?.cache, "bypass")
          assert.strictEqual(fake.state.calls, 2)
          assert.deepStrictEqual(events.map((event) => event._tag === "CacheLookup" && event.status), ["bypass"])
        }).pipe(Effect.provide(Store)))

      it.effect(`replayPacing replays the original timing through Clock (${api})`, () =>
        Effect.gen(function*() {
          const fake = makeFake()
          fake.state.script.push({ chunks: ["a", "b", "c"], delay: "2 seconds", chunkDelay: "1 second" })
          const model = Cache.withCache(fake.model, { replayPacing: true })
          const recorder = (into: Array<readonly [string, number]>) => (event: StreamEvent.StreamEvent) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              Effect.sync(() => {
                into.push([event._tag === "TextDelta" ? event.text : "finish", now])
              }))
          const live: Array<readonly [string, number]> = []
          const first = yield* Effect.fork(runEvents(model, ask("paced"), api, recorder(live)))
          yield* settle
          yield* TestClock.adjust("4 seconds")
          yield* Fiber.join(first)
          assert.deepStrictEqual(live.map(([t, at]) => [t, at]), [["a", 2000], ["b", 3000], ["c", 4000], [
            "finish",
            4000
          ]])
          const replayed: Array<readonly [string, number]> = []
          const second = yield* Effect.fork(runEvents(model, ask("paced"), api, recorder(replayed)))
          yield* settle
          assert.deepStrictEqual(replayed, [])
          yield* TestClock.adjust("2 seconds")
          assert.deepStrictEqual(replayed.map(([t]) => t), ["a"])
          yield* TestClock.adjust("1 second")
          assert.deepStrictEqual(replayed.map(([t]) => t), ["a", "b"])
          yield* TestClock.adjust("1 second")
          yield* Fiber.join(second)
          assert.deepStrictEqual(replayed.map(([t, at]) => [t, at - 4000]), [["a", 2000], ["b", 3000], ["c", 4000], [
            "finish",
            4000
          ]])
          // without pacing, a hit is immediate
          const unpaced = Cache.withCache(fake.model)
          const instant: Array<readonly [string, number]> = []
          yield* runEvents(unpaced, ask("paced"), api, recorder(instant))
          assert.deepStrictEqual(instant.map(([t]) => t), ["a", "b", "c", "finish"])
          assert.deepStrictEqual(new Set(instant.map(([, at]) => at)).size, 1)
          assert.strictEqual(fake.state.calls, 1)
        }).pipe(Effect.provide(Store)))

      it.effect(`a caller arriving while the leader streams gets what arrived so far, then the live chunks (${api})`, () =>
        Effect.gen(function*() {
          const fake = makeFake()
          fake.state.script.push({ chunks: ["a", "b", "c", "d"], delay: "1 second", chunkDelay: "1 second" })
          const model = Cache.withCache(fake.model)
          const seen = { leader: [] as Array<string>, follower: [] as Array<string> }
          const record = (into: Array<string>) => (event: StreamEvent.StreamEvent) =>
            Effect.sync(() => {
              into.push(event._tag === "TextDelta" ? event.text : `finish:${event.completion.cache}`)
            })
          const leader = yield* Effect.fork(runEvents(model, ask("tee"), api, record(seen.leader)))
          yield* settle
          yield* TestClock.adjust("2 seconds")
          assert.deepStrictEqual(seen.leader, ["a", "b"])
          const follower = yield* Effect.fork(runEvents(model, ask("tee"), api, record(seen.follower)))
          yield* settle
          // replayed at once, without waiting for the end
          assert.deepStrictEqual(seen.follower, ["a", "b"])
          yield* TestClock.adjust("1 second")
          assert.deepStrictEqual(seen.leader, ["a", "b", "c"])
          assert.deepStrictEqual(seen.follower, ["a", "b", "c"])
          yield* TestClock.adjust("1 second")
          yield* Fiber.join(leader)
          yield* Fiber.join(follower)
          assert.deepStrictEqual(seen.leader, ["a", "b", "c", "d", "finish:miss"])
          assert.deepStrictEqual(seen.follower, ["a", "b", "c", "d", "finish:hit"])
          assert.strictEqual(fake.state.calls, 1)
        }).pipe(Effect.provide(Store)))

      it.effect(`a late follower sees the leader's failure; one that stops reading leaves the others streaming (${api})`, () =>
        Effect.gen(function*() {
          const fake = makeFake()
          const cut = new LlmError.StreamInterrupted({
            provider,
            model: defaultModel,
            partialText: "ab",
            detail: "cut"
          })
          fake.state.script.push({ chunks: ["a", "b"], chunkDelay: "1 second", fail: cut })
          const model = Cache.withCache(fake.model)
          const leader = yield* Effect.fork(runEvents(model, ask("x"), api))
          yield* settle
          const quitter = yield* Effect.fork(takeEvents(model, ask("x"), api, 1))
          const follower = yield* Effect.fork(runEvents(model, ask("x"), api))
          yield* settle
          assert.strictEqual((yield* Fiber.join(quitter)).length, 1)
          yield* TestClock.adjust("1 second")
          assert.deepStrictEqual(yield* Fiber.await(leader), Exit.fail(cut))
          assert.deepStrictEqual(yield* Fiber.await(follower), Exit.fail(cut))
          assert.strictEqual(fake.state.calls, 1)
          assert.strictEqual(fake.state.interrupted, 0)
        }).pipe(Effect.provide(Store)))

      it.effect(`interrupting every stream reader interrupts the upstream stream (${api})`, () =>
        Effect.gen(function*() {
          const fake = makeFake()
          fake.state.script.push({ chunks: ["a", "b", "c"], chunkDelay: "1 second" })
          const model = Cache.withCache(fake.model)
          const readers = yield* Effect.forEach([1, 2], () => Effect.fork(runEvents(model, ask("x"), api)))
          yield* settle
          yield* Fiber.interrupt(readers[0]!)
          assert.strictEqual(fake.state.interrupted, 0)
          yield* Fiber.interrupt(readers[1]!)
          assert.strictEqual(fake.state.interrupted, 1)
          const again = yield* collect(model, ask("x"), api)
          assert.strictEqual(again.finish?.cache, "miss")
          assert.strictEqual(fake.state.calls, 2)
        }).pipe(Effect.provide(Store)))
    }

    it.effect("stream and streamEach callers share one upstream call and one stored answer", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        fake.state.script.push({ chunks: ["a", "b"], delay: "1 second", chunkDelay: "1 second" })
        const model = Cache.withCache(fake.model)
        const viaStream = yield* Effect.fork(collect(model, ask("both"), "stream"))
        yield* settle
        const viaEach = yield* Effect.fork(collect(model, ask("both"), "streamEach"))
        yield* settle
        yield* TestClock.adjust("3 seconds")
        const [a, b] = [yield* Fiber.join(viaStream), yield* Fiber.join(viaEach)]
        assert.deepStrictEqual([a.deltas, b.deltas], [["a", "b"], ["a", "b"]])
        assert.deepStrictEqual([a.finish?.cache, b.finish?.cache], ["miss", "hit"])
        assert.strictEqual((yield* collect(model, ask("both"), "streamEach")).finish?.cache, "hit")
        assert.strictEqual(fake.state.calls, 1)
      }).pipe(Effect.provide(Store)))

    it.effect("no Effect Stream is run below the cache: its upstream calls and streamEach use the model's streamEach", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        // the model below: its `stream` must never run; its `streamEach` is the fake's
        const below = LanguageModel.make({
          provider: fake.model.provider,
          model: fake.model.model,
          generate: fake.model.generate,
          stream: () => Stream.dieMessage("the cache ran the model's stream"),
          streamEach: fake.model.streamEach
        })
        fake.state.script.push({ chunks: ["x", "y"] }, { chunks: ["z"] })
        const model = Cache.withCache(below)
        // a stream caller's miss, then a streamEach hit of the stored answer
        assert.strictEqual((yield* collect(model, ask("native"), "stream")).finish?.cache, "miss")
        const hit = yield* collect(model, ask("native"), "streamEach")
        assert.deepStrictEqual([hit.deltas, hit.finish?.cache], [["x", "y"], "hit"])
        // a streamEach miss and a bypassed streamEach call
        assert.strictEqual((yield* collect(model, ask("other"), "streamEach")).finish?.cache, "miss")
        const bypassed = yield* collect(model, ask("hot", { temperature: 1 }), "streamEach")
        assert.strictEqual(bypassed.finish?.cache, "bypass")
        assert.strictEqual(fake.state.calls, 3)
      }).pipe(Effect.provide(Store)))
  })

  describe("reporting", () => {
    it.effect("emits CacheLookup events and counts hits, misses, bypasses and saved USD", () =>
      Effect.gen(function*() {
        const fake = makeFake({ defaults: { delay: "1 second" } })
        const model = Cache.withCache(fake.model)
        const { events, listener } = lookups()
        const before = yield* Effect.all([
          Metric.value(Cache.hits),
          Metric.value(Cache.misses),
          Metric.value(Cache.bypasses),
          Metric.value(Cache.savedUsd)
        ])
        const program = Effect.gen(function*() {
          const leader = yield* Effect.fork(model.generate(ask("hi")))
          yield* settle
          const follower = yield* Effect.fork(model.generate(ask("hi")))
          yield* settle
          yield* TestClock.adjust("1 second")
          yield* Fiber.join(leader)
          yield* Fiber.join(follower)
          yield* model.generate(ask("hi"))
          const warm = yield* Effect.fork(model.generate({ ...ask("hi"), temperature: 1 }))
          yield* TestClock.adjust("1 second")
          yield* Fiber.join(warm)
        }).pipe(CallEvent.listen(listener))
        yield* program
        assert.deepStrictEqual(
          events.map((e) => e._tag === "CacheLookup" ? [e.status, e.source ?? "-", e.provider, e.model] : []),
          [
            ["miss", "-", provider, defaultModel],
            ["hit", "in-flight", provider, defaultModel],
            ["hit", "store", provider, defaultModel],
            ["bypass", "-", provider, defaultModel]
          ]
        )
        assert.strictEqual(CallEvent.describe(events[1]!), "cache hit (in flight) for fake/fake-1")
        const after = yield* Effect.all([
          Metric.value(Cache.hits),
          Metric.value(Cache.misses),
          Metric.value(Cache.bypasses),
          Metric.value(Cache.savedUsd)
        ])
        assert.strictEqual(after[0].count - before[0].count, 2)
        assert.strictEqual(after[1].count - before[1].count, 1)
        assert.strictEqual(after[2].count - before[2].count, 1)
        // only the stored hit reports savings here (the joined call's cost was not known yet)
        assert.closeTo(after[3].count - before[3].count, 0.002, 1e-12)
        const rate = yield* Cache.hitRate
        assert.isAbove(rate, 0)
        assert.isAtMost(rate, 1)
      }).pipe(Effect.provide(Store)))

    it.effect("a broken store makes calls slower, never failed", () =>
      Effect.gen(function*() {
        const fake = makeFake()
        const broken: CacheStore.Service = {
          get: () => Effect.fail(new CacheStore.CacheStoreError({ operation: "get", detail: "down" })),
          set: () => Effect.fail(new CacheStore.CacheStoreError({ operation: "set", detail: "down" })),
          delete: () => Effect.fail(new CacheStore.CacheStoreError({ operation: "delete", detail: "down" }))
        }
        const model = Cache.withStore(fake.model, broken)
        assert.strictEqual((yield* model.generate(ask("hi"))).cache, "miss")
        assert.strictEqual((yield* model.generate(ask("hi"))).cache, "miss")
        assert.strictEqual((yield* collect(model, ask("hi"), "stream")).finish?.cache, "miss")
        assert.strictEqual((yield* collect(model, ask("hi"), "streamEach")).finish?.cache, "miss")
        assert.strictEqual(fake.state.calls, 4)
      }))
  })

  describe("API", () => {
    it.effect("Cache.layer caches the LanguageModel below it", () => {
      const fake = makeFake()
      const layer = Cache.layer({ ttl: "5 minutes" }).pipe(
        Layer.provide(Layer.merge(LanguageModel.layer(fake.model), CacheStore.layerMemory()))
      )
      return Effect.gen(function*() {
        const first = yield* LanguageModel.generate(ask("hi"))
        const second = yield* LanguageModel.generate(ask("hi"))
        const model = yield* LanguageModel.LanguageModel
        const streamed = yield* collect(model, ask("hi"), "stream")
        const each = yield* LanguageModel.streamEach(ask("hi"), () => Effect.void)
        assert.strictEqual(first.cache, "miss")
        assert.strictEqual(second.cache, "hit")
        assert.strictEqual(streamed.finish?.cache, "hit")
        assert.strictEqual(each.cache, "hit")
        assert.strictEqual(fake.state.calls, 1)
      }).pipe(Effect.provide(layer))
    })

    it("withCache keeps the error type and adds CacheStore to the requirements", () => {
      const fake = makeFake()
      const cached = fake.model.pipe(Cache.withCache({ ttl: "1 hour" }))
      expectTypeOf(cached).toEqualTypeOf<LanguageModel.With<LlmError.LlmError, CacheStore.CacheStore>>()
      const dataFirst = Cache.withCache(fake.model)
      expectTypeOf(dataFirst).toEqualTypeOf<LanguageModel.With<LlmError.LlmError, CacheStore.CacheStore>>()
      const narrow = LanguageModel.make<LlmError.ServerError, "Dep">({
        provider,
        model: defaultModel,
        generate: () => Effect.die("unused"),
        stream: () => Stream.die("unused")
      })
      expectTypeOf(Cache.withCache(narrow)).toEqualTypeOf<
        LanguageModel.With<LlmError.ServerError, "Dep" | CacheStore.CacheStore>
      >()
      expectTypeOf(Cache.withStore(narrow, CacheStore.makeMemory())).toEqualTypeOf<
        LanguageModel.With<LlmError.ServerError, "Dep">
      >()
      // @ts-expect-error the store is required
      const _unprovided: Effect.Effect<Completion> = cached.generate(ask("hi"))
      assert.isTrue(LanguageModel.isLanguageModel(cached))
    })
  })
})

const refuses = (f: () => unknown, option: string) => refusesFor("Cache")(option, f)

describe("Cache options", () => {
  const fake = makeFake()
  const store = CacheStore.makeMemory()
  /** Every way to build the policy: each checks its options when it is called. */
  const builds: ReadonlyArray<(options: Cache.Options) => unknown> = [
    (options) => Cache.withCache(fake.model, options),
    (options) => Cache.withCache(options),
    (options) => Cache.withStore(fake.model, store, options),
    (options) => Cache.withStore(store, options),
    (options) => Cache.layer(options)
  ]

  it("refuses options the policy cannot work with", () => {
    const cases: ReadonlyArray<readonly [Cache.Options, string]> = [
      [{ ttl: 0 }, "ttl"],
      [{ ttl: "-1 hour" }, "ttl"],
      // a shared store keeps the deadline beside the answer, as JSON
      [{ ttl: Duration.infinity }, "ttl"],
      [{ ttl: "soon" as Duration.DurationInput }, "ttl"],
      [{ when: "sometimes" as "always" }, "when"],
      [{ namespace: "" }, "namespace"],
      // the key is `namespace:digest`: "a:b" would look like namespace "a"
      [{ namespace: "faq:v2" }, "namespace"],
      [{ namespace: 42 as unknown as string }, "namespace"],
      [{ scope: "team" as "user" }, "scope"]
    ]
    for (const [options, option] of cases) {
      for (const build of builds) refuses(() => build(options), option)
    }
  })

  it("accepts the defaults and the boundary values", () => {
    for (const build of builds) {
      build({})
      build({ ttl: "1 millis", when: "always", namespace: "f", scope: "user" })
      build({ when: () => true, namespace: "faq/v2.1 (beta)", scope: "global" })
    }
    Cache.withCache(fake.model)
    Cache.withStore(fake.model, store)
    Cache.layer()
  })

  it.effect("a TTL of one millisecond still caches, until it has passed", () =>
    Effect.gen(function*() {
      const model = Cache.withStore(makeFake().model, CacheStore.makeMemory(), { ttl: 1, namespace: "n" })
      assert.strictEqual((yield* model.generate(ask("hi"))).cache, "miss")
      assert.strictEqual((yield* model.generate(ask("hi"))).cache, "hit")
      yield* TestClock.adjust(1)
      assert.strictEqual((yield* model.generate(ask("hi"))).cache, "miss")
    }))
})
