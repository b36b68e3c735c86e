/**
 * The floor: a bare node:http server that calls the benchmark handlers in-process. Run as a child
 * of the bench (like the platform) so neither server shares an event loop with the load generator.
 * argv[2]: a directory holding <name>/index.js for each handler. Prints {"port":N} when listening.
 *
 * `/proxy/<name>` is the least any design with the function in a process of its own can do: the
 * same handler in fngraph's Node shim (a child process, no sandbox), one fd-3 frame each way,
 * frames of one event-loop turn written together, and nothing else (no auth, routing, limits,
 * logs or records).
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { callId } from "../src/runtimes/instance-calls.js";
import { openChannel } from "../src/runtimes/instance-channel.js";
import type { RuntimeMessage } from "../src/runtimes/messages.js";
import { BENCH_CONTEXT } from "./lib/invoke-context.js";

type Handler = (event: unknown, context: unknown) => unknown;

const dir = process.argv[2];
if (!dir) throw new Error("usage: floor-server <handlers-dir>");
const require = createRequire(import.meta.url);
const handlers = new Map<string, Handler>();
for (const name of ["noop", "busy"]) {
  const mod = require(path.join(dir, name, "index.js")) as { handler: Handler };
  handlers.set(`/${name}`, mod.handler);
}
const context = Object.freeze({ getRequestID: () => "floor" });

const SHIM = fileURLToPath(new URL("../src/runtimes/nodejs/shim/runtime.cjs", import.meta.url));

type Result = Extract<RuntimeMessage, { type: "result" }>;

/** Start the shim with the handler of `codeDir` loaded; resolves with its call function. */
function startShim(codeDir: string): Promise<(event: string) => Promise<Result>> {
  const child = spawn(process.execPath, ["--no-warnings", SHIM], {
    stdio: ["ignore", "inherit", "inherit", "pipe"],
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", RUNTIME_CODE_ROOT: codeDir },
  });
  const waiting = new Map<string, (m: Result) => void>();
  let seq = 0;
  return new Promise((resolve, reject) => {
    // The platform's own end of the fd-3 protocol: the same framing, batching and validation.
    const send = openChannel(
      { channel: child.stdio[3] as Socket },
      (m) => {
        if (m.type === "ready") {
          send({
            type: "load",
            handler: "index.handler",
            initializer: "",
            initializerTimeoutMs: 0,
            env: {},
            measureRss: false,
          });
        } else if (m.type === "loaded") resolve(call);
        else if (m.type === "load_error")
          reject(new Error(`shim load failed: ${m.error.errorMessage}`));
        else if (m.type === "result") {
          waiting.get(m.id)?.(m);
          waiting.delete(m.id);
        }
      },
      (err) => reject(err instanceof Error ? err : new Error(String(err))),
    );
    const call = (event: string): Promise<Result> =>
      new Promise((done) => {
        const id = callId(++seq); // ids as the platform's (instance-calls.ts)
        waiting.set(id, done);
        send({ type: "invoke", id, event, context: BENCH_CONTEXT });
      });
    child.once("exit", (code) => reject(new Error(`shim exited (${code})`)));
  });
}

const proxies = new Map<string, (event: string) => Promise<Result>>();
for (const name of ["noop", "busy"])
  proxies.set(`/proxy/${name}`, await startShim(path.join(dir, name)));

const server = createServer((req, res) => {
  const proxy = proxies.get(req.url ?? "");
  if (proxy) {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void proxy(Buffer.concat(chunks).toString("utf8")).then((m) => {
        res
          .writeHead(m.ok ? 200 : 500, { "content-type": "application/json" })
          .end(m.ok ? m.result : JSON.stringify(m));
      });
    });
    return;
  }
  const handler = handlers.get(req.url ?? "");
  if (!handler) {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    Promise.resolve()
      .then(() => handler(JSON.parse(Buffer.concat(chunks).toString("utf8")), context))
      .then(
        (result) => {
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
        },
        (err: unknown) => {
          res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ err }));
        },
      );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  process.stdout.write(JSON.stringify({ port: typeof addr === "object" ? addr?.port : 0 }) + "\n");
});
process.once("SIGTERM", () => server.close(() => process.exit(0)));
