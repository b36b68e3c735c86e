import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config.js";

describe("configuration", () => {
  it("has the defaults of ARCHITECTURE §1", () => {
    const c = loadConfig({}, {});
    expect(c).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      gatewayPort: 8081,
      region: "local-1",
      keepAliveSeconds: 60,
    });
    expect(c.dataDir).toBe(path.resolve("./data"));
    expect(c.store).toBe(`sqlite:${path.resolve("./data/fngraph.db")}`);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("reads FNGRAPH_* variables, and explicit options win over them", () => {
    const env = {
      FNGRAPH_PORT: "0",
      FNGRAPH_DATA_DIR: "/tmp/x",
      FNGRAPH_REGION: "eu-1",
      FNGRAPH_GATEWAY_PORT: "9",
    };
    const c = loadConfig({ region: "ap-2" }, env);
    expect(c).toMatchObject({
      port: 0,
      gatewayPort: 9,
      dataDir: "/tmp/x",
      region: "ap-2",
      store: "sqlite:/tmp/x/fngraph.db",
    });
  });

  it("keeps invocation records 168 hours unless FNGRAPH_RECORD_RETENTION_HOURS says otherwise", () => {
    expect(loadConfig({}, {}).recordRetentionHours).toBe(168);
    expect(loadConfig({}, { FNGRAPH_RECORD_RETENTION_HOURS: "0" }).recordRetentionHours).toBe(0);
    expect(loadConfig({}, { FNGRAPH_RECORD_RETENTION_HOURS: "2.5" }).recordRetentionHours).toBe(
      2.5,
    );
    expect(() => loadConfig({}, { FNGRAPH_RECORD_RETENTION_HOURS: "-1" })).toThrow();
  });

  it("reads FNGRAPH_CGROUP_FAVOR_DYNMODS as a switch, on by default", () => {
    expect(loadConfig({}, {}).cgroupFavorDynmods).toBe(true);
    for (const off of ["0", "false", "OFF", "no"]) {
      expect(loadConfig({}, { FNGRAPH_CGROUP_FAVOR_DYNMODS: off }).cgroupFavorDynmods).toBe(false);
    }
    expect(loadConfig({}, { FNGRAPH_CGROUP_FAVOR_DYNMODS: "1" }).cgroupFavorDynmods).toBe(true);
  });

  it("rejects bad values", () => {
    expect(() => loadConfig({ port: "70000" }, {})).toThrow();
    expect(() => loadConfig({ isolation: "D" }, {})).toThrow();
    expect(() => loadConfig({}, { FNGRAPH_REGION: "Bad Region" })).toThrow();
  });
});
