/**
 * Rendered response bodies, each valid while its tag holds (the content version its ETag is made
 * of), within a budget of bytes. A real agency serves the same export all night; the simulator
 * renders it once instead of on every request, so its CPU does not compete with the pipeline's.
 */
export class BodyCache {
  private readonly entries = new Map<string, { tag: string; body: Buffer }>();
  private size = 0;

  constructor(readonly maxBytes: number) {
    if (!(maxBytes >= 0)) throw new Error('cacheBytes must be a number ≥ 0');
  }

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  /** The body stored under `key` for `tag`, or undefined (missing, or stored for another tag). */
  get(key: string, tag: string): Buffer | undefined {
    const e = this.entries.get(key);
    return e && e.tag === tag ? e.body : undefined;
  }

  /** Stores `body` under `key` for `tag`, replacing what was there; skipped past the budget. */
  set(key: string, tag: string, body: Buffer): void {
    const old = this.entries.get(key);
    const size = this.size - (old?.body.length ?? 0) + body.length;
    if (size > this.maxBytes) return;
    this.entries.set(key, { tag, body });
    this.size = size;
  }

  /** Entries and bytes held. */
  stats(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.size };
  }
}
