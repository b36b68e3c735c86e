import { createFrameDecoder, encodeFrame, encodeJsonFrame } from "../sandbox/channel.js";
import type { SandboxProcess } from "../sandbox/types.js";
import {
  createInvokeWriter,
  parseRuntimeMessage,
  type HostMessage,
  type RuntimeMessage,
} from "./messages.js";

/**
 * The host's end of the instance protocol on fd 3 (PROTOCOL.md): frames out, batched per turn
 * of the event loop, and validated messages in. Returns `send`.
 */
export function openChannel(
  proc: Pick<SandboxProcess, "channel">,
  onMessage: (msg: RuntimeMessage) => void,
  onProtocolError: (err: unknown) => void,
): (msg: HostMessage) => void {
  // Frames written in one turn of the event loop (the calls of a burst) go out in one writev:
  // each write to the channel wakes the runtime, and a wake-up is the dear part of a small write.
  let corked = false;
  const uncork = (): void => {
    corked = false;
    proc.channel.uncork();
  };
  // Set by a `ready` that says `baseContext`: invokes then go without their fixed context, which
  // goes ahead in `context` messages (createInvokeWriter).
  let baseContext = false;
  const decoder = createFrameDecoder((text) => {
    let msg: RuntimeMessage;
    try {
      msg = parseRuntimeMessage(text);
    } catch (err) {
      onProtocolError(err);
      return;
    }
    if (msg.type === "ready" && msg.baseContext === true) baseContext = true;
    onMessage(msg);
  }, onProtocolError);
  proc.channel.on("data", (chunk: Buffer) => decoder.push(chunk));
  const invokeJson = createInvokeWriter();
  const sendBase = (json: string): void => void proc.channel.write(encodeJsonFrame(json));
  return (msg) => {
    if (!proc.channel.writable) return;
    if (!corked) {
      corked = true;
      proc.channel.cork();
      setImmediate(uncork);
    }
    proc.channel.write(
      msg.type === "invoke"
        ? encodeJsonFrame(invokeJson(msg, baseContext ? sendBase : undefined))
        : encodeFrame(msg),
    );
  };
}
