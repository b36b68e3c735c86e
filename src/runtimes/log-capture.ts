/** Default cap of one invocation's captured output. */
export const DEFAULT_MAX_LOG_BYTES = 1024 * 1024;

/**
 * Output captured for one invocation (or for start-up), capped: bytes past the cap are counted
 * and dropped, and a marker line says so. The pipes are always drained by the caller.
 */
export class LogCapture {
  readonly #max: number;
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  #dropped = 0;

  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  add(chunk: Buffer): void {
    const room = this.#max - this.#bytes;
    if (room <= 0) {
      this.#dropped += chunk.length;
      return;
    }
    // Copy: stream chunks may be pooled slices we must not retain whole.
    const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.#chunks.push(Buffer.from(kept));
    this.#bytes += kept.length;
    this.#dropped += chunk.length - kept.length;
  }

  get truncated(): boolean {
    return this.#dropped > 0;
  }

  text(): string {
    // Most calls write nothing: no empty buffer to make and decode for them.
    const body =
      this.#chunks.length === 0 ? "" : Buffer.concat(this.#chunks, this.#bytes).toString("utf8");
    if (this.#dropped === 0) return body;
    const sep = body.endsWith("\n") || body === "" ? "" : "\n";
    return `${body}${sep}[fngraph] log truncated: ${this.#dropped} more bytes dropped (cap ${this.#max} bytes)\n`;
  }
}

const STDERR_TAIL_BYTES = 8192;

/**
 * Routes a runtime's stdout/stderr: to every attached capture (output cannot be attributed to
 * one of several concurrent invocations, so each gets all of it), else to `idle`. Keeps the
 * tail of stderr for crash diagnosis.
 */
export class OutputRouter {
  readonly #captures = new Set<LogCapture>();
  readonly #idle: (stream: "stdout" | "stderr", chunk: Buffer) => void;
  #stderrTail = "";

  constructor(idle: (stream: "stdout" | "stderr", chunk: Buffer) => void) {
    this.#idle = idle;
  }

  attach(capture: LogCapture): void {
    this.#captures.add(capture);
  }

  detach(capture: LogCapture): void {
    this.#captures.delete(capture);
  }

  /** Last bytes of stderr over the whole life of the runtime (latin1-decoded). */
  get stderrTail(): string {
    return this.#stderrTail;
  }

  write(stream: "stdout" | "stderr", chunk: Buffer): void {
    if (stream === "stderr") {
      this.#stderrTail = (this.#stderrTail + chunk.toString("latin1")).slice(-STDERR_TAIL_BYTES);
    }
    if (this.#captures.size === 0) this.#idle(stream, chunk);
    else for (const c of this.#captures) c.add(chunk);
  }
}
