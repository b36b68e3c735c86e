/**
 * A classic-BPF seccomp filter for bwrap's `--seccomp FD`, generated in JS (no libseccomp).
 *
 * Policy: a denylist of kernel-administration and sandbox-escape syscalls returns EPERM; all else
 * is allowed. The filter is specific to one architecture: another arch, or the x32 ABI on x86_64,
 * is killed. Only x86_64 is supported; elsewhere `buildSeccompFilter` returns undefined and the
 * sandbox runs without a filter (namespaces and the uid drop still apply).
 */

/** x86_64 syscall numbers (asm/unistd_64.h). */
const DENIED_X86_64: Readonly<Record<string, number>> = {
  ptrace: 101,
  mount: 165,
  umount2: 166,
  unshare: 272,
  setns: 308,
  keyctl: 250,
  add_key: 248,
  request_key: 249,
  bpf: 321,
  perf_event_open: 298,
  userfaultfd: 323,
  kexec_load: 246,
  kexec_file_load: 320,
  init_module: 175,
  finit_module: 313,
  delete_module: 176,
  pivot_root: 155,
  chroot: 161,
  swapon: 167,
  swapoff: 168,
  reboot: 169,
  acct: 163,
  quotactl: 179,
  lookup_dcookie: 212,
  open_by_handle_at: 304,
  name_to_handle_at: 303,
  process_vm_readv: 310,
  process_vm_writev: 311,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  mount_setattr: 442,
};

const SYS_SOCKET_X86_64 = 41;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;

const RET_KILL_PROCESS = 0x80000000;
const RET_ALLOW = 0x7fff0000;
const retErrno = (errno: number): number => 0x00050000 | (errno & 0xffff);
const EPERM = 1;
const EACCES = 13;
const AF_INET = 2;
const AF_INET6 = 10;

// BPF opcodes: BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_JMP|BPF_JGE|BPF_K, BPF_RET|BPF_K.
const LD_ABS = 0x20;
const JEQ = 0x15;
const JGE = 0x35;
const RET = 0x06;
// struct seccomp_data offsets: nr, arch, args[0] (low 32 bits on little-endian).
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG0 = 16;

type Insn = readonly [code: number, jt: number, jf: number, k: number];

export interface SeccompOptions {
  /**
   * Also refuse `socket(AF_INET|AF_INET6)` with EACCES. Not used for the network modes (those are
   * network namespaces); kept for a possible "no network at all" mode.
   */
  denyInet?: boolean;
  /** Defaults to `process.arch`. */
  arch?: string;
}

/** The syscalls the filter refuses with EPERM (for docs and tests). */
export const deniedSyscalls: readonly string[] = Object.keys(DENIED_X86_64);

/**
 * Build the filter as an array of 8-byte `struct sock_filter`. Returns undefined on an unsupported
 * architecture, so callers skip `--seccomp` instead of failing.
 */
export function buildSeccompFilter(options: SeccompOptions = {}): Buffer | undefined {
  if ((options.arch ?? process.arch) !== "x64") return undefined;
  const ins: Insn[] = [
    [LD_ABS, 0, 0, OFF_ARCH],
    [JEQ, 1, 0, AUDIT_ARCH_X86_64],
    [RET, 0, 0, RET_KILL_PROCESS],
    [LD_ABS, 0, 0, OFF_NR],
    [JGE, 0, 1, X32_SYSCALL_BIT],
    [RET, 0, 0, RET_KILL_PROCESS],
  ];
  for (const nr of Object.values(DENIED_X86_64)) {
    ins.push([JEQ, 0, 1, nr], [RET, 0, 0, retErrno(EPERM)]);
  }
  if (options.denyInet) {
    ins.push(
      [JEQ, 0, 4, SYS_SOCKET_X86_64],
      [LD_ABS, 0, 0, OFF_ARG0],
      [JEQ, 1, 0, AF_INET],
      [JEQ, 0, 1, AF_INET6],
      [RET, 0, 0, retErrno(EACCES)],
    );
  }
  ins.push([RET, 0, 0, RET_ALLOW]);
  const buf = Buffer.alloc(ins.length * 8);
  ins.forEach(([code, jt, jf, k], i) => {
    buf.writeUInt16LE(code, i * 8);
    buf.writeUInt8(jt, i * 8 + 2);
    buf.writeUInt8(jf, i * 8 + 3);
    buf.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return buf;
}
