/**
 * The floor: a bare node:http server that calls the benchmark handlers in-process. Run as a child
 * of the bench (like the platform) so neither server shares an event loop with the load generator.
 * argv[2]: a directory holding <name>/index.js for each handler. Prints {"port":N} when listening.
 */
import { createServer } from "node:http";
import { createRequire } from "node:module";
import path from "node:path";

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

const server = createServer((req, res) => {
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
