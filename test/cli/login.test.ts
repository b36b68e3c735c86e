import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closedPort, createCliHarness, type CliHarness } from "./helpers.js";

interface ProfileFile {
  current: string;
  profiles: Record<
    string,
    { token: string; expires_at: string; password?: string; project_id: string; endpoint: string }
  >;
}

let h: CliHarness;
const configFile = (): string => path.join(h.home, "config.json");
const readProfiles = async (): Promise<ProfileFile> =>
  JSON.parse(await readFile(configFile(), "utf8")) as ProfileFile;

beforeAll(async () => {
  h = await createCliHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("fngraph login", () => {
  it("logs in from credentials.json and stores a 0600 profile", async () => {
    const r = await h.cli(["login", "--credentials", h.credentialsFile]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(h.platform.credentials.endpoint);
    const file = await readProfiles();
    const p = file.profiles[file.current]!;
    expect(p.endpoint).toBe(h.platform.credentials.endpoint);
    expect(p.project_id).toBe(h.platform.credentials.project_id);
    expect(p.token.length).toBeGreaterThan(10);
    expect(Date.parse(p.expires_at)).toBeGreaterThan(Date.now());
    expect((await stat(configFile())).mode & 0o777).toBe(0o600);
  });

  it("reads ./data/credentials.json by default", async () => {
    // The harness runs the CLI with cwd = the temp root, whose data/ is the server's.
    const r = await h.cli(["login", "--json"]);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { token: { project: { id: string } } };
    expect(body.token.project.id).toBe(h.platform.credentials.project_id);
  });

  it("logs in from flags alone into a named profile", async () => {
    const c = h.platform.credentials;
    const r = await h.cli([
      "--profile",
      "flags",
      "login",
      "--credentials",
      path.join(h.root, "missing.json"),
      "--endpoint",
      c.endpoint,
      "--user",
      c.user,
      "--password",
      c.password,
      "--domain",
      c.domain_name,
      "--region",
      c.region,
    ]);
    // An explicit --credentials that does not exist is an error even with all flags.
    expect(r.code).not.toBe(0);
    const ok = await h.cli([
      "--profile",
      "flags",
      "login",
      "--endpoint",
      c.endpoint,
      "--user",
      c.user,
      "--password",
      c.password,
      "--domain",
      c.domain_name,
      "--region",
      c.region,
    ]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const file = await readProfiles();
    expect(file.current).toBe("flags");
    expect(file.profiles["flags"]?.project_id).toBe(c.project_id);
    expect((await h.cli(["fn", "list"])).code).toBe(0);
  });

  it("rejects a wrong password with a clear message and keeps the old profile", async () => {
    const before = await readFile(configFile(), "utf8");
    const r = await h.cli(["login", "--credentials", h.credentialsFile, "--password", "wrong"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/credentials rejected/);
    expect(await readFile(configFile(), "utf8")).toBe(before);
  });

  it("says the server is unreachable", async () => {
    const port = await closedPort();
    const r = await h.cli([
      "login",
      "--endpoint",
      `http://127.0.0.1:${port}`,
      "--user",
      "u",
      "--password",
      "p",
      "--domain",
      "d",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot reach fngraph at http://127.0.0.1:${port}`);
    expect(r.stderr).toContain("fngraph serve");
  });

  it("says the server is unreachable for API commands too", async () => {
    const port = await closedPort();
    const file = await readProfiles();
    const p = file.profiles[file.current]!;
    file.profiles["dead"] = { ...p, endpoint: `http://127.0.0.1:${port}` };
    await writeFile(configFile(), JSON.stringify(file));
    const r = await h.cli(["--profile", "dead", "fn", "list"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach fngraph at http://127.0.0.1:${port}`);
  });

  it("asks to log in when there is no profile", async () => {
    const r = await h.cli(["fn", "list"], {
      env: { FNGRAPH_CLI_HOME: path.join(h.root, "empty") },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("fngraph login");
  });

  it("logs in again with the stored password when the token has expired", async () => {
    expect((await h.cli(["login", "--credentials", h.credentialsFile])).code).toBe(0);
    const file = await readProfiles();
    const name = file.current;
    file.profiles[name] = {
      ...file.profiles[name]!,
      token: "stale",
      expires_at: "2000-01-01T00:00:00Z",
    };
    await writeFile(configFile(), JSON.stringify(file));

    const r = await h.cli(["fn", "list", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const after = (await readProfiles()).profiles[name]!;
    expect(after.token).not.toBe("stale");
    expect(Date.parse(after.expires_at)).toBeGreaterThan(Date.now());
    expect((await stat(configFile())).mode & 0o777).toBe(0o600);
  });

  it("renews once when the server answers 401 to a token that looks valid", async () => {
    const file = await readProfiles();
    const name = file.current;
    file.profiles[name] = { ...file.profiles[name]!, token: "garbage" };
    await writeFile(configFile(), JSON.stringify(file));
    const r = await h.cli(["fn", "list"]);
    expect(r.code).toBe(0);
    expect((await readProfiles()).profiles[name]!.token).not.toBe("garbage");
  });

  it("a stored password that no longer works says to run login", async () => {
    const file = await readProfiles();
    const name = file.current;
    const good = file.profiles[name]!;
    file.profiles[name] = { ...good, password: "changed", expires_at: "2000-01-01T00:00:00Z" };
    await writeFile(configFile(), JSON.stringify(file));
    const r = await h.cli(["fn", "list"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("stored credentials were rejected: run `fngraph login`");
    file.profiles[name] = good;
    await writeFile(configFile(), JSON.stringify(file));
  });

  it("without a stored password a rejected token says to run login", async () => {
    const file = await readProfiles();
    const name = file.current;
    const { password: _password, ...rest } = file.profiles[name]!;
    file.profiles[name] = { ...rest, token: "garbage" };
    await writeFile(configFile(), JSON.stringify(file));
    const r = await h.cli(["fn", "list"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("credentials rejected: run `fngraph login`");
    // And an expired token with no password cannot be renewed either.
    const later = await h.cli(["fn", "list"], { now: Date.parse("2100-01-01T00:00:00Z") });
    expect(later.code).toBe(1);
    expect(later.stderr).toContain("fngraph login");
  });
});
