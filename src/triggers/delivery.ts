import type { Clock } from "../core/clock.js";
import type { Delivery, Outcome } from "./types.js";

export interface AsyncDeliveryDeps {
  /** The async service's accept: queue an event durably, resolve with its request id. */
  accept(
    projectId: string,
    urn: string,
    input: { event: string; headers: Record<string, string> },
  ): Promise<string>;
  /** The async queue's status of a request (undefined when it is gone). */
  status(requestId: string): Promise<string | undefined>;
  clock: Clock;
  /** How often `outcome` looks at the request. */
  pollMs?: number;
}

const FINAL: readonly string[] = ["SUCCESS", "FAIL", "DISCARD"];

/** Delivery through the durable async queue (ARCHITECTURE §3: triggers never call runtimes). */
export function createAsyncDelivery(deps: AsyncDeliveryDeps): Delivery {
  const pollMs = deps.pollMs ?? 100;
  return {
    submit: (t, event) =>
      deps.accept(t.projectId, t.funcUrn, {
        event: JSON.stringify(event),
        headers: { "x-cff-trigger-type": t.type, "x-cff-trigger-id": t.id },
      }),
    outcome: async (requestId, signal) => {
      for (;;) {
        if (signal?.aborted) throw new Error("aborted while waiting for the invocation");
        const s = await deps.status(requestId);
        if (s === undefined) return "GONE";
        if (FINAL.includes(s)) return s as Outcome;
        await new Promise<void>((resolve) => {
          const h = deps.clock.setTimeout(() => {
            signal?.removeEventListener("abort", done);
            resolve();
          }, pollMs);
          function done(): void {
            deps.clock.clearTimeout(h);
            resolve();
          }
          signal?.addEventListener("abort", done, { once: true });
        });
      }
    },
  };
}
