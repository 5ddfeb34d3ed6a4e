/** What {@link makeAfterMicrotasks} may use of the platform. */
export interface Platform {
  readonly setImmediate?: ((f: () => void) => unknown) | undefined
  readonly MessageChannel?: (new() => MessageChannel) | undefined
  readonly setTimeout: (f: () => void, millis: number) => unknown
}

/**
 * Runs `f` once the microtasks at hand have run (e.g. after the events of one network read): a
 * macrotask without a timer's clamping, `setImmediate` (Node, Bun, Deno), else a `MessageChannel`
 * message (browsers, workers), else `setTimeout`. Callbacks run in the order they were given.
 *
 * @internal
 */
export const makeAfterMicrotasks = (platform: Platform): (f: () => void) => void => {
  const immediate = platform.setImmediate
  if (immediate !== undefined) return (f) => void immediate(f)
  const Channel = platform.MessageChannel
  if (Channel !== undefined) {
    const channel = new Channel()
    const queue: Array<() => void> = []
    channel.port1.onmessage = () => queue.shift()?.() // a waiting port must not keep a process alive (Node's ports have `unref`)
    ;(channel.port1 as { unref?: () => void }).unref?.()
    return (f) => {
      queue.push(f)
      channel.port2.postMessage(undefined)
    }
  }
  const timeout = platform.setTimeout
  return (f) => void timeout(f, 0)
}

/** @internal */
export const afterMicrotasks: (f: () => void) => void = makeAfterMicrotasks({
  setImmediate: typeof setImmediate === "function" ? setImmediate : undefined,
  MessageChannel: typeof MessageChannel === "function" ? MessageChannel : undefined,
  setTimeout
})
