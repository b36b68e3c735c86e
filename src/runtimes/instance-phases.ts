import type { Clock } from "../core/clock.js";
import type { SandboxExit } from "../sandbox/types.js";
import type { RuntimeMessage } from "./messages.js";
import type { Failure } from "./outcomes.js";
import { InstanceStartError } from "./start-error.js";

/** The start-up phases of a runtime (`ready`, then `loaded`): one waited for at a time. */
export interface StartPhases {
  /**
   * Wait for `want`: resolves with its message; rejects with an InstanceStartError on a timeout,
   * an exit (now or before), a `load_error` or any other message.
   */
  run(
    want: "ready" | "loaded",
    timeoutMs: number,
    onTimeout: Failure,
    onExitFailure: (exit: SandboxExit, oom: boolean) => Failure,
  ): Promise<RuntimeMessage>;
  /** A start-up message arrived: false when no phase waits for one. */
  message(msg: RuntimeMessage): boolean;
  /** The runtime exited. */
  exit(exit: SandboxExit): void;
}

export interface StartPhasesDeps {
  clock: Clock;
  /** The start log so far (the error's log). */
  startLog: () => string;
  isOom: () => boolean;
  /** The exit, when the runtime already exited. */
  exited: () => SandboxExit | undefined;
}

interface PhaseWaiter {
  message(msg: RuntimeMessage): void;
  exit(exit: SandboxExit): void;
}

export function createStartPhases(deps: StartPhasesDeps): StartPhases {
  const { clock } = deps;
  let phase: PhaseWaiter | undefined;
  return {
    run: (want, timeoutMs, onTimeout, onExitFailure) =>
      new Promise<RuntimeMessage>((resolve, reject) => {
        const fail = (f: Failure) => {
          clock.clearTimeout(timer);
          phase = undefined;
          reject(new InstanceStartError(f, deps.startLog()));
        };
        const timer = clock.setTimeout(() => fail(onTimeout), timeoutMs);
        phase = {
          message(msg) {
            if (msg.type === want) {
              clock.clearTimeout(timer);
              phase = undefined;
              resolve(msg);
            } else if (msg.type === "load_error" && want === "loaded") {
              fail({ errorCode: msg.errorCode, isFuncErr: true, error: msg.error });
            } else {
              fail({
                errorCode: 4201,
                isFuncErr: false,
                error: {
                  errorMessage: `initialization failed: unexpected '${msg.type}' message`,
                  errorType: "RuntimeError",
                },
              });
            }
          },
          exit(exit) {
            fail(onExitFailure(exit, deps.isOom()));
          },
        };
        const exited = deps.exited();
        if (exited) phase.exit(exited);
      }),
    message(msg) {
      if (!phase) return false;
      phase.message(msg);
      return true;
    },
    exit(exit) {
      phase?.exit(exit);
    },
  };
}
