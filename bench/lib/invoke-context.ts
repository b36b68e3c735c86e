import type { InvokeContext } from "../../src/runtimes/types.js";

/** The invoke context (PROTOCOL.md) of calls the bench sends to a runtime directly. */
export const BENCH_CONTEXT: Readonly<InvokeContext> = Object.freeze({
  requestId: "bench",
  functionName: "bench",
  version: "latest",
  alias: "",
  package: "default",
  projectId: "bench",
  memorySize: 128,
  cpuMillicores: 300,
  timeoutSeconds: 10,
  deadline: 0,
  invokeType: "sync",
  userData: {},
  accessKey: "",
  secretKey: "",
  securityToken: "",
  authToken: "",
  headers: {},
});
