import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateIdentity } from "../../src/auth/identity.js";
import { projectsResponse } from "../../src/auth/projects.js";
import { createFakeClock } from "./fake-clock.js";

describe("generateIdentity", () => {
  it("produces Huawei-shaped ids and credentials", () => {
    const clock = createFakeClock(Date.UTC(2025, 0, 2));
    const id = generateIdentity({ region: "eu-west-101", clock });
    expect(id.projectId).toMatch(/^[a-f0-9]{32}$/);
    expect(id.domainId).toMatch(/^[a-f0-9]{32}$/);
    expect(id.userId).toMatch(/^[a-f0-9]{32}$/);
    expect(id.projectName).toBe("eu-west-101");
    expect(id.domainName).toBe("fngraph");
    expect(id.userName).toBe("fngraph");
    expect(id.password).toMatch(/^[A-Za-z0-9]{16,}$/);
    expect(id.password).toMatch(/[A-Za-z]/);
    expect(id.password).toMatch(/\d/);
    expect(id.accessKey).toMatch(/^[A-Z0-9]{20}$/);
    expect(id.secretKey).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(id.tokenKey).toMatch(/^[a-f0-9]{64}$/);
    expect(id.createdAt).toBe("2025-01-02T00:00:00.000Z");
  });

  it("is fresh each time and deterministic under an injected source", () => {
    const a = generateIdentity({ region: "r" });
    const b = generateIdentity({ region: "r" });
    expect(a.projectId).not.toBe(b.projectId);
    expect(a.secretKey).not.toBe(b.secretKey);

    const seeded = () => {
      let counter = 0;
      return (n: number) => Buffer.from(Array.from({ length: n }, () => counter++ % 256));
    };
    const clock = createFakeClock(0);
    expect(generateIdentity({ region: "r", randomBytes: seeded(), clock })).toEqual(
      generateIdentity({ region: "r", randomBytes: seeded(), clock }),
    );
  });

  it("keeps letters and digits in the password even from a skewed source", () => {
    // All-zero bytes until the 40th call would yield "AAAA…"; the generator must retry.
    let calls = 0;
    const skewed = (n: number) => (++calls < 40 ? Buffer.alloc(n) : randomBytes(n));
    const id = generateIdentity({ region: "r", randomBytes: skewed });
    expect(id.password).toMatch(/[A-Za-z]/);
    expect(id.password).toMatch(/\d/);
  });
});

describe("projectsResponse", () => {
  const id = generateIdentity({ region: "local-1" });

  it("lists the project when the name matches or no filter is given", () => {
    const body = projectsResponse(id, "local-1");
    expect(body.projects).toEqual([
      {
        id: id.projectId,
        name: "local-1",
        domain_id: id.domainId,
        description: "",
        enabled: true,
        is_domain: false,
        parent_id: id.domainId,
        links: { self: "" },
      },
    ]);
    expect(body.links).toBeDefined();
    expect(projectsResponse(id).projects).toHaveLength(1);
  });

  it("returns an empty list for another name", () => {
    expect(projectsResponse(id, "cn-north-4").projects).toEqual([]);
  });
});
