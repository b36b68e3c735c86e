import type { Readable, Duplex } from "node:stream";

/** Isolation tiers (ARCHITECTURE §5). */
export type IsolationTier = "A" | "B" | "C";

/** Paths as the process inside the sandbox sees them. */
export interface SandboxPaths {
  /** Where the function code is visible (RUNTIME_CODE_ROOT). Tier A/B: /opt/function/code. */
  codeRoot: string;
  /** Where the runtime shim is visible. Tier A/B: /opt/function/runtime. */
  runtimeRoot: string;
  /** Writable scratch dir (/tmp inside tier A/B). */
  tmpDir: string;
}

export interface SandboxMount {
  hostPath: string;
  sandboxPath: string;
  readOnly: boolean;
}

/** Everything needed to start one instance's process tree. */
export interface SandboxSpec {
  /** Unique instance id; also names cgroups (`fngraph-<id>`). */
  id: string;
  /** Host directory with the unpacked code (bound read-only at paths.codeRoot). */
  codeDir: string;
  /** Host directory with the runtime shim (bound read-only at paths.runtimeRoot). */
  runtimeDir: string;
  /** argv to exec inside the sandbox; build it with `sandbox.paths(spec)`. */
  argv: string[];
  /** The complete environment; nothing of the platform's own env leaks in. */
  env: Record<string, string>;
  memoryMb: number;
  /** CPU share applied after the runtime's load and first call (`applyRuntimeLimits`). */
  cpuMillicores: number;
  /** Size of the private /tmp in MB. */
  tmpMb: number;
  /**
   * full: the host's network namespace; loopback: an own namespace with only lo; private: an
   * own namespace with lo and NAT egress (tier A; falls back to loopback where unavailable).
   */
  network: "full" | "loopback" | "private";
  mounts: SandboxMount[];
  /**
   * Host uid/gid to run as (`mount_config.mount_user`); an absent id is the sandbox's default
   * (1003). Honoured where the platform can switch users (tiers A/B as root); ignored elsewhere.
   */
  user?: SandboxUser;
}

/** Ids a function runs as; each absent one falls back to the sandbox's default. */
export interface SandboxUser {
  uid?: number;
  gid?: number;
}

export interface SandboxExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A launched instance process tree. */
export interface SandboxProcess {
  readonly id: string;
  readonly pid: number;
  /** fd 3 inside the sandbox: the instance protocol channel. */
  readonly channel: Duplex;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves once the whole tree is gone. Never rejects. */
  readonly exited: Promise<SandboxExit>;
  /** Peak memory of the whole tree since the last reset, in bytes; undefined if unknown (tier C). */
  peakMemoryBytes(): number | undefined;
  /**
   * False when that peak is sampled and can miss a short spike (cgroup v2 before Linux 6.12,
   * tier B's polling): an OOM kill then cannot be ruled out from the peak alone.
   */
  readonly peakExact?: boolean;
  resetPeakMemory(): void;
  /** The last running call ended (a sampled peak stops sampling until `resetPeakMemory`). */
  idle?(): void;
  /** True when the kernel's OOM killer hit this tree (tier A), or it is otherwise known. */
  oomKilled(): boolean;
  /** Lower the CPU share to the function's after a fast start. */
  applyRuntimeLimits(): void;
  /**
   * Suspend every process of the tree (cgroup freezer, tier A) until `thaw()`: an idle reserved
   * instance in idle mode. Synchronous; a no-op where the tier has no freezer (B, C) or the tree
   * is gone. `kill()` works on a frozen tree.
   */
  freeze(): void;
  /** Resume a frozen tree; synchronous, a no-op when not frozen. */
  thaw(): void;
  /** Kill the whole tree (setsid'd children included) and release its resources. Idempotent. */
  kill(): Promise<void>;
}

export interface Sandbox {
  readonly tier: IsolationTier;
  /** Human-readable description for /healthz and the banner. */
  readonly description: string;
  paths(spec: Pick<SandboxSpec, "id" | "codeDir" | "runtimeDir">): SandboxPaths;
  launch(spec: SandboxSpec): Promise<SandboxProcess>;
  /** Kill every process still running and remove leftovers. Idempotent. */
  close(): Promise<void>;
}
