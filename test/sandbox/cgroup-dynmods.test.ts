import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { kernelAtLeast } from "../../src/sandbox/cgroup-files.js";
import { favorDynmods, findCgroup2Mount, remountArgs } from "../../src/sandbox/cgroup-dynmods.js";
import { run } from "../../src/sandbox/exec.js";
import type { ExecResult } from "../../src/sandbox/exec.js";

const PURE_V2 = [
  "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw",
  "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot",
].join("\n");
const HYBRID = [
  "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
  "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
].join("\n");

const ok: ExecResult = { code: 0, stdout: "", stderr: "" };

describe("cgroup2 favordynmods", () => {
  it("finds the cgroup2 mount and its two option lists, past optional fields", () => {
    expect(findCgroup2Mount(PURE_V2)).toEqual({
      mountPoint: "/sys/fs/cgroup",
      mountOptions: ["rw", "nosuid", "nodev", "noexec", "relatime"],
      superOptions: ["rw", "nsdelegate", "memory_recursiveprot"],
    });
    expect(findCgroup2Mount(HYBRID)?.mountPoint).toBe("/sys/fs/cgroup/unified");
    expect(findCgroup2Mount(HYBRID, "/sys/fs/cgroup")).toBeUndefined();
    expect(findCgroup2Mount(HYBRID.split("\n")[0] ?? "")).toBeUndefined();
    const spaced = "41 31 0:38 / /mnt/cg\\0402 rw - cgroup2 none rw";
    expect(findCgroup2Mount(spaced)?.mountPoint).toBe("/mnt/cg 2");
  });

  it("remounts with every option it had, plus favordynmods", () => {
    const m = findCgroup2Mount(PURE_V2);
    if (!m) throw new Error("no mount");
    expect(remountArgs(m)).toEqual([
      "-o",
      "remount,rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot,favordynmods",
      "/sys/fs/cgroup",
    ]);
  });

  it("leaves a mount alone when the option is on, or when configuration says off", async () => {
    const calls: string[][] = [];
    const exec = async (_f: string, args: string[]) => (calls.push(args), ok);
    const on = HYBRID.replace("cgroup2 rw", "cgroup2 rw,favordynmods");
    expect(await favorDynmods({ readMountinfo: () => on, exec })).toEqual({
      state: "on",
      mountPoint: "/sys/fs/cgroup/unified",
    });
    const off = await favorDynmods({ readMountinfo: () => HYBRID, exec, enabled: false });
    expect(off.state).toBe("off");
    expect(calls).toEqual([]);
    const none = await favorDynmods({ readMountinfo: () => "", exec });
    expect(none).toMatchObject({ state: "unavailable", detail: "no cgroup2 mount" });
  });

  it("reports a kernel that refuses the option, and one that takes it", async () => {
    const refused = await favorDynmods({
      readMountinfo: () => HYBRID,
      exec: async () => ({ code: 32, stdout: "", stderr: "mount: bad option\n" }),
      isRoot: true,
    });
    expect(refused).toEqual({
      state: "unavailable",
      mountPoint: "/sys/fs/cgroup/unified",
      detail: "mount: bad option",
    });
    let table = PURE_V2;
    const taken = await favorDynmods({
      readMountinfo: () => table,
      exec: async (file, args) => {
        expect([file, ...args]).toEqual(["mount", ...remountArgs(findCgroup2Mount(PURE_V2)!)]);
        table = PURE_V2.replace("memory_recursiveprot", "memory_recursiveprot,favordynmods");
        return ok;
      },
      isRoot: true,
    });
    expect(taken.state).toBe("enabled");
    // A remount that "succeeds" without the option showing up is not taken for success.
    const silent = await favorDynmods({
      readMountinfo: () => HYBRID,
      exec: async () => ok,
      isRoot: true,
    });
    expect(silent.state).toBe("unavailable");
    const user = await favorDynmods({
      readMountinfo: () => HYBRID,
      exec: async () => ok,
      isRoot: false,
    });
    expect(user).toMatchObject({ state: "unavailable", detail: "needs root" });
  });

  const real = findCgroup2Mount(fs.readFileSync("/proc/self/mountinfo", "utf8"));
  const canRemount = process.getuid?.() === 0 && kernelAtLeast(6, 0) && real !== undefined;

  it.skipIf(!canRemount)("turns the option on for this machine's cgroup2 mount", async () => {
    const mp = real!.mountPoint;
    const read = () => findCgroup2Mount(fs.readFileSync("/proc/self/mountinfo", "utf8"), mp);
    const before = read()!;
    const withoutFlag = [...before.mountOptions, ...before.superOptions].filter(
      (o) => o !== "favordynmods",
    );
    // Clear the flag (libmount would merge the old options back in without --options-source).
    // Linux 6.18 keeps its faster move path once it was on; the flag itself still goes.
    const cleared = await run("mount", [
      "--options-source",
      "disable",
      "-o",
      ["remount", ...new Set(withoutFlag)].join(","),
      mp,
    ]);
    expect(cleared.stderr).toBe("");
    expect(read()!.superOptions).not.toContain("favordynmods");

    expect(await favorDynmods({ mountPoint: mp })).toEqual({ state: "enabled", mountPoint: mp });
    const after = read()!;
    expect(after.superOptions).toContain("favordynmods");
    expect(after.mountOptions).toEqual(before.mountOptions);
    for (const o of before.superOptions) expect(after.superOptions).toContain(o);
    expect((await favorDynmods({ mountPoint: mp })).state).toBe("on");
  });
});
