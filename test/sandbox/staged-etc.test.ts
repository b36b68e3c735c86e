import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createStagedEtc, hostEtcEntries, type StagedEtc } from "../../src/sandbox/staged-etc.js";
import { makeTempDir } from "./helpers.js";

describe("the sandbox's staged /etc", () => {
  let root: string;
  let host: string;
  let staged: StagedEtc | undefined;

  beforeEach(() => {
    root = makeTempDir("staged-etc");
    host = path.join(root, "host-etc");
    fs.mkdirSync(path.join(host, "ssl", "certs"), { recursive: true });
    fs.writeFileSync(path.join(root, "real-resolv.conf"), "nameserver 10.0.0.1\n");
    fs.symlinkSync(path.join(root, "real-resolv.conf"), path.join(host, "resolv.conf"));
    fs.writeFileSync(path.join(host, "hosts"), "127.0.0.1 localhost\n");
    fs.writeFileSync(path.join(host, "ssl", "certs", "ca-certificates.crt"), "PEM\n");
    fs.symlinkSync("/usr/share/ca-certificates/x.crt", path.join(host, "ssl", "certs", "x.pem"));
    fs.writeFileSync(path.join(host, "shadow"), "secret\n");
  });
  afterEach(() => {
    staged?.close();
    staged = undefined;
    fs.rmSync(root, { recursive: true, force: true });
  });

  const make = (keepReplacedMs = 60_000) =>
    (staged = createStagedEtc({
      root: path.join(root, "staged"),
      hostEtc: host,
      entries: ["resolv.conf", "hosts", "ssl/certs", "missing.conf"],
      keepReplacedMs,
    }));

  it("copies the entries it is given, with passwd and group naming the ids", async () => {
    const dir = await make().dirFor({ uid: 1003, gid: 1003 });
    // A symlinked file is copied with its content, as a bind of it shows it.
    expect(fs.lstatSync(path.join(dir, "resolv.conf")).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(dir, "resolv.conf"), "utf8")).toBe("nameserver 10.0.0.1\n");
    expect(fs.readFileSync(path.join(dir, "hosts"), "utf8")).toBe("127.0.0.1 localhost\n");
    // A directory keeps its symlinks as they are (their targets are under /usr).
    expect(fs.readlinkSync(path.join(dir, "ssl", "certs", "x.pem"))).toBe(
      "/usr/share/ca-certificates/x.crt",
    );
    expect(fs.readFileSync(path.join(dir, "ssl", "certs", "ca-certificates.crt"), "utf8")).toBe(
      "PEM\n",
    );
    // Nothing else of the host's /etc; a missing entry is left out.
    expect(fs.readdirSync(dir).sort()).toEqual(["group", "hosts", "passwd", "resolv.conf", "ssl"]);
    expect(fs.readFileSync(path.join(dir, "passwd"), "utf8")).toMatch(
      /^sandbox:x:1003:1003:function:\/tmp:/m,
    );
    expect(fs.readFileSync(path.join(dir, "group"), "utf8")).toMatch(/^sandbox:x:1003:$/m);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o755);
  });

  it("keeps one directory per ids while the host's entries stay as they are", async () => {
    const s = make();
    const a = await s.dirFor({ uid: 1003, gid: 1003 });
    const b = await s.dirFor({ uid: 2000, gid: 2001 });
    expect(b).not.toBe(a);
    expect(fs.readFileSync(path.join(b, "passwd"), "utf8")).toMatch(/^sandbox:x:2000:2001:/m);
    expect(await s.dirFor({ uid: 1003, gid: 1003 })).toBe(a);
    // Launches that ask at once share one copy.
    const [x, y] = await Promise.all([
      s.dirFor({ uid: 3000, gid: 3000 }),
      s.dirFor({ uid: 3000, gid: 3000 }),
    ]);
    expect(x).toBe(y);
  });

  it("makes a fresh copy when a host entry changed, and removes the replaced one later", async () => {
    const s = make(100);
    const before = await s.dirFor({ uid: 1003, gid: 1003 });
    fs.writeFileSync(path.join(root, "real-resolv.conf"), "nameserver 10.0.0.2\n");
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(root, "real-resolv.conf"), t, t);
    // Looked at again after a second at most.
    let after = before;
    for (let i = 0; i < 30 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await s.dirFor({ uid: 1003, gid: 1003 });
    }
    expect(after).not.toBe(before);
    expect(fs.readFileSync(path.join(after, "resolv.conf"), "utf8")).toBe("nameserver 10.0.0.2\n");
    // The replaced copy stays for launches that named it, then goes.
    expect(fs.existsSync(before)).toBe(true);
    for (let i = 0; i < 50 && fs.existsSync(before); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(fs.existsSync(before)).toBe(false);
    expect(fs.existsSync(after)).toBe(true);
  });

  it("starts clean: copies of a previous run are removed", async () => {
    const leftover = path.join(root, "staged", "1003-1003.7");
    fs.mkdirSync(leftover, { recursive: true });
    const dir = await make().dirFor({ uid: 1003, gid: 1003 });
    expect(fs.existsSync(leftover)).toBe(false);
    expect(fs.existsSync(dir)).toBe(true);
  });

  it("the host's entries: those present, and the JDKs' configuration", () => {
    fs.mkdirSync(path.join(host, "java-17-openjdk"));
    fs.mkdirSync(path.join(host, "java-x-openjdk"));
    expect(hostEtcEntries(host)).toEqual(["resolv.conf", "hosts", "ssl/certs", "java-17-openjdk"]);
  });
});
