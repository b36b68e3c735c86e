import { describe, expect, it } from "vitest";
import { buildSeccompFilter, deniedSyscalls } from "../../src/sandbox/seccomp.js";

/** A minimal classic-BPF interpreter for the opcodes the generator emits. */
function runFilter(prog: Buffer, data: { nr: number; arch: number; arg0?: number }): number {
  const word = (off: number) =>
    off === 0 ? data.nr : off === 4 ? data.arch : off === 16 ? (data.arg0 ?? 0) : 0;
  let a = 0;
  for (let pc = 0; pc < prog.length / 8;) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) a = word(k);
    else if (code === 0x06) return k;
    else if (code === 0x15) {
      pc += 1 + (a === k ? jt : jf);
      continue;
    } else if (code === 0x35) {
      pc += 1 + (a >= k ? jt : jf);
      continue;
    } else throw new Error(`unexpected opcode ${code}`);
    pc++;
  }
  throw new Error("fell off the end");
}

const X86_64 = 0xc000003e;
const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const KILL = 0x80000000;

describe("seccomp BPF generator", () => {
  it("refuses unsupported architectures instead of emitting a wrong filter", () => {
    expect(buildSeccompFilter({ arch: "arm64" })).toBeUndefined();
  });

  it("denies the listed syscalls with EPERM and allows the rest", () => {
    const prog = buildSeccompFilter({ arch: "x64" });
    expect(prog).toBeDefined();
    if (!prog) return;
    expect(prog.length % 8).toBe(0);
    expect(deniedSyscalls).toContain("mount");
    expect(runFilter(prog, { nr: 165, arch: X86_64 })).toBe(EPERM); // mount
    expect(runFilter(prog, { nr: 272, arch: X86_64 })).toBe(EPERM); // unshare
    expect(runFilter(prog, { nr: 101, arch: X86_64 })).toBe(EPERM); // ptrace
    expect(runFilter(prog, { nr: 425, arch: X86_64 })).toBe(EPERM); // io_uring_setup
    expect(runFilter(prog, { nr: 0, arch: X86_64 })).toBe(ALLOW); // read
    expect(runFilter(prog, { nr: 41, arch: X86_64, arg0: 2 })).toBe(ALLOW); // socket(AF_INET)
    expect(runFilter(prog, { nr: 0, arch: 0x40000003 })).toBe(KILL); // i386
    expect(runFilter(prog, { nr: 0x40000000, arch: X86_64 })).toBe(KILL); // x32 ABI
  });

  it("optionally refuses AF_INET/AF_INET6 sockets with EACCES", () => {
    const prog = buildSeccompFilter({ arch: "x64", denyInet: true });
    if (!prog) throw new Error("no filter");
    expect(runFilter(prog, { nr: 41, arch: X86_64, arg0: 2 })).toBe(0x0005000d);
    expect(runFilter(prog, { nr: 41, arch: X86_64, arg0: 10 })).toBe(0x0005000d);
    expect(runFilter(prog, { nr: 41, arch: X86_64, arg0: 1 })).toBe(ALLOW); // AF_UNIX
  });
});
