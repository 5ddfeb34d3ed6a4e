/**
 * Server-sent event framing.
 *
 * @internal
 */

/** @internal */
export const event = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`

/** @internal */
export const data = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`

/** @internal */
export const done = "data: [DONE]\n\n"
