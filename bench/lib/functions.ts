import type { FnApi } from "./api.js";
import type { Target } from "./measure.js";
import { EVENT } from "./handlers.js";
import { zipOneFile } from "./zip.js";

export const NODE_RUNTIME = "Node.js20.15";
export const PYTHON_RUNTIME = "Python3.10";

export interface FunctionSpec {
  name: string;
  runtime: string;
  /** File name inside the ZIP (index.js / index.py) and its source. */
  file: string;
  source: string;
  memoryMb: number;
  strategy?: { concurrency: number; concurrent_num: number };
}

/** The create body of contract §1.4, as a FunctionGraph client would send it. */
export async function createFunctionBody(spec: FunctionSpec): Promise<Record<string, unknown>> {
  return {
    func_name: spec.name,
    package: "default",
    runtime: spec.runtime,
    handler: "index.handler",
    memory_size: spec.memoryMb,
    timeout: 30,
    code_type: "zip",
    func_code: { file: await zipOneFile(spec.file, spec.source) },
    ...(spec.strategy ? { strategy_config: spec.strategy } : {}),
  };
}

export async function createFunction(api: FnApi, spec: FunctionSpec): Promise<string> {
  const created = await api.createFunction(await createFunctionBody(spec));
  return created.func_urn;
}

/** Throws unless the answer is the echoed event: never benchmark error responses. */
export function expectEcho(status: number, body: string): void {
  let same = false;
  try {
    same = JSON.stringify(JSON.parse(body)) === EVENT;
  } catch {
    same = false;
  }
  if (status !== 200 || !same) {
    throw new Error(`unexpected response (HTTP ${status}): ${body.slice(0, 500)}`);
  }
}

/** The invoke API of one function as a load target, token-authenticated. */
export function fngraphTarget(api: FnApi, urn: string): Target {
  return {
    origin: api.credentials.endpoint,
    path: api.invokePath(urn),
    headers: { "x-auth-token": api.token },
    body: EVENT,
    expect: expectEcho,
  };
}

/** The floor server's route for a handler. */
export function floorTarget(origin: string, handler: "noop" | "busy"): Target {
  return { origin, path: `/${handler}`, headers: {}, body: EVENT, expect: expectEcho };
}

/** The floor server's minimal proxy to the handler in a Node shim (bench/floor-server.ts). */
export function proxyTarget(origin: string, handler: "noop" | "busy"): Target {
  return { ...floorTarget(origin, handler), path: `/proxy/${handler}` };
}
