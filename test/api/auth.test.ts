import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, startTestPlatform, type TestPlatform } from "../helpers/platform.js";

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t.close();
});

const passwordBody = (
  over: {
    password?: string;
    domain?: Record<string, string>;
    project?: Record<string, string>;
  } = {},
) => {
  const c = t.platform.credentials;
  return {
    auth: {
      identity: {
        methods: ["password"],
        password: {
          user: {
            name: c.user,
            password: over.password ?? c.password,
            domain: over.domain ?? { name: c.domain_name },
          },
        },
      },
      scope: { project: over.project ?? { name: c.region } },
    },
  };
};

describe("IAM-lite and API authentication", () => {
  it("issues a token (201, X-Subject-Token, 24 h) by domain name or id, project by name or id", async () => {
    const c = t.platform.credentials;
    for (const body of [
      passwordBody(),
      passwordBody({ domain: { id: c.domain_id } }),
      passwordBody({ project: { id: c.project_id } }),
    ]) {
      const r = await call(t.endpoint, "POST", "/v3/auth/tokens", body);
      expect(r.status).toBe(201);
      expect(r.headers["x-subject-token"]).toMatch(/^MII/);
      const token = (
        r.json as { token: { expires_at: string; issued_at: string; project: { id: string } } }
      ).token;
      expect(token.project.id).toBe(c.project_id);
      const hours = (Date.parse(token.expires_at) - Date.parse(token.issued_at)) / 3_600_000;
      expect(hours).toBeCloseTo(24, 3);
    }
  });

  it("refuses a wrong password with 401 and a malformed body with 400", async () => {
    const bad = await call(
      t.endpoint,
      "POST",
      "/v3/auth/tokens",
      passwordBody({ password: "wrong-password" }),
    );
    expect(bad.status).toBe(401);
    expect((bad.json as { error_code: string }).error_code).toBe("FSS.0401");
    const malformed = await call(t.endpoint, "POST", "/v3/auth/tokens", { auth: {} });
    expect(malformed.status).toBe(400);
  });

  it("answers 401 without credentials or with a bad token, in FunctionGraph's error shape", async () => {
    const none = await call(t.endpoint, "GET", t.v2("/fgs/functions"));
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ error_code: "FSS.0401" });
    expect(typeof (none.json as { error_msg: string }).error_msg).toBe("string");
    const bad = await call(t.endpoint, "GET", t.v2("/fgs/functions"), undefined, {
      "X-Auth-Token": "MIIgarbage",
    });
    expect(bad.status).toBe(401);
    expect(none.headers["x-request-id"]).toBeTruthy();
  });

  it("answers 403 for a project that is not the caller's", async () => {
    const r = await call(t.endpoint, "GET", `/v2/${"f".repeat(32)}/fgs/functions`, undefined, {
      "X-Auth-Token": t.token,
    });
    expect(r.status).toBe(403);
    expect((r.json as { error_code: string }).error_code).toBe("FSS.0403");
  });

  it("lists the project by region name for SDK users without a project id", async () => {
    const r = await call(
      t.endpoint,
      "GET",
      `/v3/projects?name=${t.platform.credentials.region}`,
      undefined,
      { "X-Auth-Token": t.token },
    );
    expect(r.status).toBe(200);
    expect((r.json as { projects: { id: string }[] }).projects.map((p) => p.id)).toEqual([
      t.projectId,
    ]);
    const none = await call(t.endpoint, "GET", "/v3/projects?name=elsewhere", undefined, {
      "X-Auth-Token": t.token,
    });
    expect((none.json as { projects: unknown[] }).projects).toEqual([]);
  });

  it("serves /healthz with the isolation tier, and 404 in FunctionGraph's shape for unknown routes", async () => {
    const h = await call(t.endpoint, "GET", "/healthz");
    expect(h.status).toBe(200);
    expect(h.json).toMatchObject({ status: "ok", isolation: { tier: t.platform.isolation.tier } });
    expect(["A", "B", "C"]).toContain(t.platform.isolation.tier);
    const nf = await call(t.endpoint, "GET", "/nowhere");
    expect(nf.status).toBe(404);
    expect((nf.json as { error_code: string }).error_code).toBe("FSS.0404");
  });
});
