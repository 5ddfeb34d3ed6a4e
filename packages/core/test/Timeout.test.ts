import { CallEvent, LanguageModel, LlmError, ProviderCall, RateLimit, Retry } from "@effect-llm/core"
import type { GenerateRequest } from "@effect-llm/core/GenerateRequest"
import * as Resilience from "@effect-llm/core/Resilience"
import * as StreamEvent from "@effect-llm/core/StreamEvent"
import * as Timeout from "@effect-llm/core/Timeout"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, FiberRef, Layer, Stream, TestClock } from "effect"
import { expectTypeOf } from "vitest"
import { refusesFor } from "./invalidOptionsFixtures.js"
import { completion, prompt, scripted } from "./resilienceFixtures.js"
import { apis, runEvents } from "./streamApis.js"

/** `f` throws `InvalidOptions` naming `Timeout` and `option`. */
const refuses = refusesFor("Timeout")

const timeoutOf = (error: LlmError.LlmError) =>
  error._tag === "Timeout" ? { phase: error.phase, after: Duration.toMillis(error.after) } : error._tag

describe("Timeout", () => {
  it.effect("total: a slow generate fails with Timeout(total) and is interrupted", () =>
    Effect.gen(function*() {
      const { interrupted, model } = scripted([{ delay: "5 seconds" }])
      const fiber = yield* Effect.fork(model.pipe(Timeout.withTimeouts({ total: "2 seconds" })).generate(prompt))
      yield* TestClock.adjust("1999 millis")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.deepStrictEqual(timeoutOf(error), { phase: "total", after: 2000 })
      assert.strictEqual(interrupted.count, 1)
    }))

  it.effect("a fast generate is not affected", () =>
    Effect.gen(function*() {
      const { model } = scripted([{ delay: "1 second", text: "fine" }])
      const fiber = yield* Effect.fork(model.pipe(Timeout.withTimeouts({ total: "2 seconds" })).generate(prompt))
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Fiber.join(fiber)).text, "fine")
    }))

  it.effect("response: the deadline grows with maxOutputTokens, capped by total", () =>
    Effect.gen(function*() {
      const options: Timeout.Options = {
        total: "10 seconds",
        response: { base: "1 second", perOutputToken: "10 millis" }
      }
      assert.strictEqual(Timeout.generateDeadline(options, { ...prompt, maxOutputTokens: 100 }), 2000)
      assert.strictEqual(Timeout.generateDeadline(options, { ...prompt, maxOutputTokens: 5000 }), 10000)
      assert.strictEqual(Timeout.generateDeadline(options, prompt), 10000)
      const short = scripted([{ delay: "3 seconds" }])
      const f1 = yield* Effect.fork(
        short.model.pipe(Timeout.withTimeouts(options)).generate({ ...prompt, maxOutputTokens: 100 })
      )
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(timeoutOf(yield* Effect.flip(Fiber.join(f1))), { phase: "total", after: 2000 })
      const long = scripted([{ delay: "3 seconds", text: "long" }])
      const f2 = yield* Effect.fork(
        long.model.pipe(Timeout.withTimeouts(options)).generate({ ...prompt, maxOutputTokens: 500 })
      )
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual((yield* Fiber.join(f2)).text, "long")
    }))

  for (const api of apis) {
    it.effect(`first token: a stream whose first event is late fails with Timeout(first-token) (${api})`, () =>
      Effect.gen(function*() {
        const { interrupted, model } = scripted([{ delay: "5 seconds", chunks: ["a"] }])
        const fiber = yield* Effect.fork(
          runEvents(model.pipe(Timeout.withTimeouts({ firstToken: "1 second", idle: "10 seconds" })), prompt, api)
        )
        yield* TestClock.adjust("1 second")
        const error = yield* Effect.flip(Fiber.join(fiber))
        assert.deepStrictEqual(timeoutOf(error), { phase: "first-token", after: 1000 })
        assert.strictEqual(interrupted.count, 1)
      }))

    it.effect(`idle: a gap between two chunks fails with Timeout(idle) after the first chunk (${api})`, () =>
      Effect.gen(function*() {
        const { interrupted, model } = scripted([{ chunks: ["a", "b"], chunkDelay: "3 seconds" }])
        const seen: Array<string> = []
        const fiber = yield* Effect.fork(
          runEvents(
            model.pipe(Timeout.withTimeouts({ firstToken: "1 second", idle: "2 seconds" })),
            prompt,
            api,
            (e) => Effect.sync(() => seen.push(e._tag))
          )
        )
        yield* TestClock.adjust("1999 millis")
        assert.deepStrictEqual(seen, ["TextDelta"])
        assert.isNull(fiber.unsafePoll())
        yield* TestClock.adjust("1 millis")
        const error = yield* Effect.flip(Fiber.join(fiber))
        assert.deepStrictEqual(timeoutOf(error), { phase: "idle", after: 2000 })
        assert.strictEqual(interrupted.count, 1)
      }))

    it.effect(`total: a stream that keeps trickling fails with Timeout(total) (${api})`, () =>
      Effect.gen(function*() {
        const { model } = scripted([{ chunks: ["a", "b", "c", "d", "e"], chunkDelay: "1 second" }])
        const seen: Array<string> = []
        const fiber = yield* Effect.fork(
          runEvents(
            model.pipe(Timeout.withTimeouts({ idle: "2 seconds", total: "2500 millis" })),
            prompt,
            api,
            (e) => Effect.sync(() => seen.push(e._tag === "TextDelta" ? e.text : e._tag))
          )
        )
        yield* TestClock.adjust("2500 millis")
        const error = yield* Effect.flip(Fiber.join(fiber))
        assert.deepStrictEqual(timeoutOf(error), { phase: "total", after: 2500 })
        assert.deepStrictEqual(seen, ["a", "b", "c"])
      }))

    it.effect(`a stream within its timeouts completes (${api})`, () =>
      Effect.gen(function*() {
        const { model } = scripted([{ chunks: ["a", "b", "c"], chunkDelay: "1 second" }])
        const fiber = yield* Effect.fork(runEvents(model.pipe(Timeout.withTimeouts(Timeout.standard)), prompt, api))
        yield* TestClock.adjust("2 seconds")
        const events = yield* Fiber.join(fiber)
        assert.deepStrictEqual(events.map((e) => e._tag), ["TextDelta", "TextDelta", "TextDelta", "Finish"])
      }))

    it.effect(`streams emit FirstToken with the time to the first event (${api})`, () =>
      Effect.gen(function*() {
        const { model } = scripted([{ delay: "1500 millis", chunks: ["a", "b"] }])
        const events: Array<CallEvent.CallEvent> = []
        const fiber = yield* Effect.fork(
          runEvents(model.pipe(Timeout.withTimeouts({ firstToken: "5 seconds" })), prompt, api).pipe(
            CallEvent.listen((e) => Effect.sync(() => events.push(e)))
          )
        )
        yield* TestClock.adjust("2 seconds")
        yield* Fiber.join(fiber)
        assert.deepStrictEqual(events, [{ _tag: "FirstToken", provider: "fake", model: "fake-1", afterMillis: 1500 }])
      }))
  }

  describe("streamEach of a model that does not enforce deadlines", () => {
    // a model with a `streamEach` of its own that ignores deadlines: Timeout times its calls itself
    const paced = (step: {
      readonly delay?: Duration.DurationInput
      readonly chunks: ReadonlyArray<string>
      readonly chunkDelay?: Duration.DurationInput
    }) => {
      const events = step.chunks.map((text, i) =>
        [i === 0 ? step.delay ?? 0 : step.chunkDelay ?? 0, StreamEvent.textDelta(text)] as const
      )
      const finish = StreamEvent.finish(completion(step.chunks.join(""), { provider: "fake", model: "fake-1" }))
      return LanguageModel.make<never, never>({
        provider: "fake",
        model: "fake-1",
        generate: () => Effect.dieMessage("unused"),
        stream: () =>
          Stream.concat(
            Stream.mapEffect(Stream.fromIterable(events), ([delay, event]) => Effect.as(Effect.sleep(delay), event)),
            Stream.succeed(finish)
          ),
        streamEach: (_, onEvent) =>
          Effect.gen(function*() {
            for (const [delay, event] of events) {
              yield* Effect.sleep(delay)
              yield* onEvent(event)
            }
            yield* onEvent(finish)
            return finish.completion
          })
      })
    }
    const cases: ReadonlyArray<{
      readonly phase: string
      readonly step: Parameters<typeof paced>[0]
      readonly options: Timeout.Options
      readonly error: ReturnType<typeof timeoutOf>
      readonly seen: ReadonlyArray<string>
    }> = [
      {
        phase: "first token",
        step: { delay: "5 seconds", chunks: ["a"] },
        options: { firstToken: "1 second" },
        error: { phase: "first-token", after: 1000 },
        seen: []
      },
      {
        phase: "idle",
        step: { chunks: ["a", "b"], chunkDelay: "3 seconds" },
        options: { idle: "2 seconds" },
        error: { phase: "idle", after: 2000 },
        seen: ["a"]
      },
      {
        phase: "total",
        step: { chunks: ["a", "b", "c", "d", "e"], chunkDelay: "1 second" },
        options: { idle: "2 seconds", total: "2500 millis" },
        error: { phase: "total", after: 2500 },
        seen: ["a", "b", "c"]
      }
    ]
    for (const { error, options, phase, seen: expected, step } of cases) {
      it.effect(`${phase}: its streamEach still times out (the derived stream is timed)`, () =>
        Effect.gen(function*() {
          const timed = paced(step).pipe(Timeout.withTimeouts(options))
          assert.isFalse(timed.enforcesDeadlines === true)
          const seen: Array<string> = []
          const fiber = yield* Effect.fork(
            timed.streamEach(prompt, (e) => Effect.sync(() => seen.push(e._tag === "TextDelta" ? e.text : e._tag)))
          )
          yield* TestClock.adjust("1 minute")
          assert.deepStrictEqual(timeoutOf(yield* Effect.flip(Fiber.join(fiber))), error)
          assert.deepStrictEqual(seen, expected)
        }))
    }
  })

  it.effect("connect: providers read the connect timeout from currentConnectTimeout", () =>
    Effect.gen(function*() {
      const seen: Array<number | undefined> = []
      const probe = LanguageModel.make<never, never>({
        provider: "probe",
        model: "p",
        generate: () =>
          Effect.flatMap(FiberRef.get(Timeout.currentConnectTimeout), (d) => {
            seen.push(d === undefined ? undefined : Duration.toMillis(d))
            return Effect.die("unused")
          }),
        stream: () => Stream.empty
      })
      yield* Effect.exit(probe.pipe(Timeout.withTimeouts({ connect: "7 seconds" })).generate(prompt))
      yield* Effect.exit(probe.pipe(Timeout.withTimeouts({ connect: "8 seconds", total: "1 minute" })).generate(prompt))
      yield* Effect.exit(probe.generate(prompt))
      assert.deepStrictEqual(seen, [7000, 8000, undefined])
    }))

  it.effect("Timeout.layer wraps the LanguageModel below it", () =>
    Effect.gen(function*() {
      const { model } = scripted([{ delay: "5 seconds" }])
      const layer = Timeout.layer({ total: "1 second" }).pipe(Layer.provide(LanguageModel.layer(model)))
      const fiber = yield* Effect.fork(LanguageModel.generate(prompt).pipe(Effect.provide(layer)))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(timeoutOf(yield* Effect.flip(Fiber.join(fiber))), { phase: "total", after: 1000 })
    }))

  it("adds Timeout to the error type", () => {
    const model = scripted([]).model as unknown as LanguageModel.With<LlmError.ServerError, "R">
    expectTypeOf(model.pipe(Timeout.withTimeouts({ total: "1 second" }))).toEqualTypeOf<
      LanguageModel.With<LlmError.ServerError | LlmError.Timeout, "R">
    >()
  })

  describe("delegated to a model that enforces deadlines", () => {
    // a model that enforces deadlines and records the ones its calls see
    const enforcing = () => {
      const seen: Array<ProviderCall.Deadlines | undefined> = []
      const ops: Array<"generate" | "stream" | "streamEach"> = []
      const record = (op: "generate" | "stream" | "streamEach", request: GenerateRequest) => {
        ops.push(op)
        seen.push(ProviderCall.deadlinesIn(request))
        return completion("ok", { provider: "fake", model: "fake-1" })
      }
      const model = LanguageModel.make({
        provider: "fake",
        model: "fake-1",
        enforcesDeadlines: true,
        generate: (request) => Effect.sync(() => record("generate", request)),
        stream: (request) => Stream.fromEffect(Effect.sync(() => StreamEvent.finish(record("stream", request)))),
        streamEach: (request, onEvent) =>
          Effect.suspend(() => {
            const answer = record("streamEach", request)
            return Effect.as(onEvent(StreamEvent.finish(answer)), answer)
          })
      })
      return { model, seen, ops }
    }

    it.effect("generate: the deadline travels with the request (no fiber of Timeout's own)", () =>
      Effect.gen(function*() {
        const { model, seen } = enforcing()
        yield* TestClock.adjust("1 second")
        const timed = model.pipe(RateLimit.withLimits(), Timeout.withTimeouts({ total: "2 seconds", idle: "1 second" }))
        assert.isTrue(timed.enforcesDeadlines)
        yield* timed.generate(prompt)
        const [deadlines] = seen
        assert.strictEqual(deadlines?.end, 3000)
        assert.strictEqual(deadlines?.idle, undefined, "stream phases are not a generate's")
        assert.strictEqual(Duration.toMillis(deadlines!.onEnd().after), 2000)
      }))

    for (const api of apis) {
      it.effect(`${api}: nested timeouts combine (the earliest of each, the inner connect)`, () =>
        Effect.gen(function*() {
          const { model, ops, seen } = enforcing()
          const timed = model.pipe(
            Timeout.withTimeouts({ firstToken: "5 seconds", idle: "1 second", connect: "2 seconds" }),
            Retry.withPolicy(),
            Timeout.withTimeouts({ total: "4 seconds", idle: "3 seconds", connect: "9 seconds" })
          )
          yield* runEvents(timed, prompt, api)
          assert.deepStrictEqual(ops, [api])
          const [deadlines] = seen
          assert.strictEqual(deadlines?.end, 4000)
          assert.strictEqual(deadlines?.firstToken, 5000)
          assert.strictEqual(deadlines?.idle, 1000)
          assert.strictEqual(Duration.toMillis(deadlines!.connect!), 2000)
          assert.strictEqual(deadlines?.onIdle().phase, "idle")
        }))
    }

    it.effect("streamEach: the deadlines travel with the request to the streamEach below (no stream)", () =>
      Effect.gen(function*() {
        const { model, ops, seen } = enforcing()
        yield* TestClock.adjust("1 second")
        const timed = model.pipe(
          RateLimit.withLimits(),
          Timeout.withTimeouts({ firstToken: "5 seconds", idle: "1 second", total: "4 seconds", connect: "2 seconds" })
        )
        assert.isTrue(timed.enforcesDeadlines)
        const events: Array<StreamEvent.StreamEvent> = []
        const result = yield* timed.streamEach(prompt, (event) => Effect.sync(() => events.push(event)))
        assert.strictEqual(result.text, "ok")
        assert.deepStrictEqual(events.map((e) => e._tag), ["Finish"])
        assert.deepStrictEqual(ops, ["streamEach"])
        const [deadlines] = seen
        assert.strictEqual(deadlines?.end, 5000)
        assert.strictEqual(deadlines?.firstToken, 6000)
        assert.strictEqual(deadlines?.idle, 1000)
        assert.strictEqual(Duration.toMillis(deadlines!.connect!), 2000)
        assert.isDefined(deadlines?.firstEvent, "a stream's first event is reported (FirstToken)")
        assert.deepStrictEqual(timeoutOf(deadlines!.onFirstToken()), { phase: "first-token", after: 5000 })
        assert.deepStrictEqual(timeoutOf(deadlines!.onIdle()), { phase: "idle", after: 1000 })
        assert.deepStrictEqual(timeoutOf(deadlines!.onEnd()), { phase: "total", after: 4000 })
      }))

    it.live("with the live clock, the timers are native (one setTimeout per wait)", () =>
      Effect.gen(function*() {
        const { model, seen } = enforcing()
        yield* model.pipe(Timeout.withTimeouts({ total: "2 seconds" })).generate(prompt)
        assert.strictEqual(seen[0]?.schedule, ProviderCall.nativeSchedule)
      }))

    it.effect("a model that does not enforce them is timed by Timeout itself (the request carries none)", () =>
      Effect.gen(function*() {
        const { model, seen } = enforcing()
        const plain = LanguageModel.make({
          provider: model.provider,
          model: model.model,
          generate: model.generate,
          stream: model.stream
        })
        yield* plain.pipe(Timeout.withTimeouts({ total: "2 seconds" })).generate(prompt)
        assert.deepStrictEqual(seen, [undefined])
      }))

    it.effect("ProviderCall.deadlineOf: the earliest deadline of a wait, the call's own on a tie", () =>
      Effect.sync(() => {
        const deadlines: ProviderCall.Deadlines = {
          end: 10_000,
          onEnd: () => new LlmError.Timeout({ provider: "p", model: "m", phase: "total", after: Duration.seconds(10) }),
          firstToken: 4000,
          onFirstToken: () =>
            new LlmError.Timeout({ provider: "p", model: "m", phase: "first-token", after: Duration.seconds(4) }),
          idle: 1000,
          onIdle: () => new LlmError.Timeout({ provider: "p", model: "m", phase: "idle", after: Duration.seconds(1) }),
          connect: undefined,
          firstEvent: undefined,
          schedule: ProviderCall.nativeSchedule
        }
        const phase = (now: number, wait: ProviderCall.Wait) => {
          const next = ProviderCall.deadlineOf(deadlines, now, wait)
          return next && [next[0], next[1]().phase]
        }
        assert.deepStrictEqual(phase(0, "call"), [10_000, "total"])
        assert.deepStrictEqual(phase(0, "first"), [4000, "first-token"])
        assert.deepStrictEqual(phase(5000, "next"), [6000, "idle"])
        assert.deepStrictEqual(phase(9000, "next"), [10_000, "total"])
        assert.deepStrictEqual(phase(12_000, "first"), [4000, "first-token"])
        assert.isUndefined(ProviderCall.deadlineOf({ ...deadlines, end: undefined, idle: undefined }, 0, "next"))
      }))
  })
})

describe("Timeout options", () => {
  const model = () => scripted([]).model
  const timed = (options: Timeout.Options) => Timeout.withTimeouts(model(), options)
  const response = { base: "1 second", perOutputToken: "10 millis" } as const

  it("the defaults pass", () => {
    timed(Timeout.standard)
    timed({})
    Timeout.layer(Timeout.standard)
  })

  for (const phase of ["connect", "firstToken", "idle", "total"] as const) {
    it(`${phase}: a duration longer than zero, or Duration.infinity for no limit`, () => {
      assert.include(refuses(phase, () => timed({ [phase]: 0 })).message, "must be longer than zero")
      refuses(phase, () => timed({ [phase]: -1 }))
      refuses(phase, () => timed({ [phase]: "-2 seconds" }))
      refuses(phase, () => timed({ [phase]: "soon" as Duration.DurationInput }))
      timed({ [phase]: "1 millis" })
      timed({ [phase]: Duration.infinity })
    })
  }

  for (const api of apis) {
    it.effect(`an infinite phase is no limit (${api})`, () =>
      Effect.gen(function*() {
        const { model } = scripted([{ delay: "1 day", text: "late" }, {
          delay: "1 day",
          chunks: ["a", "b"],
          chunkDelay: "1 day"
        }])
        const forever = { firstToken: Duration.infinity, idle: Duration.infinity, total: Duration.infinity }
        const timed = model.pipe(Timeout.withTimeouts(forever))
        const generated = yield* Effect.fork(timed.generate(prompt))
        yield* TestClock.adjust("1 day")
        assert.strictEqual((yield* Fiber.join(generated)).text, "late")
        const streamed = yield* Effect.fork(runEvents(timed, prompt, api))
        yield* TestClock.adjust("2 days")
        assert.deepStrictEqual((yield* Fiber.join(streamed)).map((e) => e._tag), [
          "TextDelta",
          "TextDelta",
          "Finish"
        ])
      }))
  }

  it("response.base: a finite duration longer than zero", () => {
    refuses("response.base", () => timed({ response: { ...response, base: 0 } }))
    refuses("response.base", () => timed({ response: { ...response, base: Duration.infinity } }))
    refuses("response.base", () => timed({ response: { perOutputToken: "10 millis" } as typeof response }))
    timed({ response: { ...response, base: "1 millis" } })
  })

  it("response.perOutputToken: a finite duration of at least zero", () => {
    refuses("response.perOutputToken", () => timed({ response: { ...response, perOutputToken: -1 } }))
    refuses("response.perOutputToken", () => timed({ response: { ...response, perOutputToken: Duration.infinity } }))
    refuses("response.perOutputToken", () => timed({ response: { base: "1 second" } as typeof response }))
    timed({ response: { ...response, perOutputToken: 0 } })
  })

  it("response.defaultOutputTokens: an integer of at least 1", () => {
    refuses("response.defaultOutputTokens", () => timed({ response: { ...response, defaultOutputTokens: 0 } }))
    refuses("response.defaultOutputTokens", () => timed({ response: { ...response, defaultOutputTokens: 2.5 } }))
    timed({ response: { ...response, defaultOutputTokens: 1 } })
  })

  it("is checked once, when the timeouts are built: data-last on application, the layer when called", () => {
    const timeouts = Timeout.withTimeouts({ idle: 0 })
    refuses("idle", () => model().pipe(timeouts))
    refuses("total", () => Timeout.layer({ total: -1 }))
    // the preset checks through withTimeouts (`total` and `connect` around the call, the rest per attempt)
    refuses("total", () => Resilience.standard({ timeout: { total: 0 } })(model()))
    refuses("idle", () => Resilience.standard({ timeout: { idle: 0 } })(model()))
  })
})
