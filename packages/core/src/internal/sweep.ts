/**
 * Per-key state that must not grow with the number of keys ever seen (users, features): a map
 * swept of its idle entries whenever it has doubled since the last sweep, so each insert costs
 * amortised constant time and the map holds at most about twice its live entries.
 *
 * @internal
 */
export class Sweeper {
  private next: number

  constructor(private readonly floor = 1_024) {
    this.next = floor
  }

  /**
   * Deletes the entries `idle` names once `map` has reached its next sweep size (call it after
   * inserts, at a point where no entry is in use half-way through an update).
   */
  maybeSweep<K, V>(map: Map<K, V>, idle: (value: V) => boolean): void {
    if (map.size < this.next) return
    for (const [key, value] of map) if (idle(value)) map.delete(key)
    this.next = Math.max(this.floor, map.size * 2)
  }
}
