import {
  CreateDependencyRequestBody,
  CreateDependencyVersionRequest,
  DeleteDependencyVersionRequest,
  type FunctionGraphClient,
  ListDependenciesRequest,
  ListDependencyVersionRequest,
  ShowDependencyVersionRequest,
} from "@huaweicloud/huaweicloud-sdk-functiongraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, startTestPlatform, zipFiles, type TestPlatform } from "../helpers/platform.js";
import { sdkClient } from "../helpers/sdk.js";
import { greetFiles } from "./dependencies-helpers.js";

// The official SDK's dependency calls, signed with AK/SK. The SDK hands back parsed JSON.

let t: TestPlatform;
let client: FunctionGraphClient;
const wire = (res: object): Record<string, unknown> => res as Record<string, unknown>;

beforeAll(async () => {
  t = await startTestPlatform();
  client = sdkClient(t.platform.credentials);
});
afterAll(async () => {
  await t.close();
});

describe("official SDK dependency calls", () => {
  it("creates, lists, shows (with a working download_link) and deletes dependency versions", async () => {
    const zip = await zipFiles(greetFiles());
    const body = new CreateDependencyRequestBody("zip", "Node.js18.15", "sdk-greet")
      .withDependFile(zip.toString("base64"))
      .withDescription("from the SDK");
    const created = wire(
      await client.createDependencyVersion(new CreateDependencyVersionRequest().withBody(body)),
    );
    expect(created).toMatchObject({ name: "sdk-greet", version: 1, description: "from the SDK" });
    const depId = created["dep_id"] as string;

    const again = wire(
      await client.createDependencyVersion(new CreateDependencyVersionRequest().withBody(body)),
    );
    expect(again).toMatchObject({ dep_id: depId, version: 2 });

    const list = wire(
      await client.listDependencies(
        new ListDependenciesRequest().withDependencyType("private").withName("sdk-greet"),
      ),
    );
    expect(list["count"]).toBe(1);
    expect(list["dependencies"]).toEqual([expect.objectContaining({ id: depId, version: 2 })]);

    const versions = wire(
      await client.listDependencyVersion(new ListDependencyVersionRequest().withDependId(depId)),
    );
    expect((versions["dependencies"] as { version: number }[]).map((v) => v.version)).toEqual([
      2, 1,
    ]);

    const shown = wire(
      await client.showDependencyVersion(
        new ShowDependencyVersionRequest().withDependId(depId).withVersion("1"),
      ),
    );
    expect(shown).toMatchObject({ id: created["id"], dep_id: depId, version: 1 });
    const link = new URL(shown["download_link"] as string);
    const dl = await call(t.endpoint, "GET", link.pathname + link.search);
    expect(dl.status).toBe(200);
    expect(dl.body).toEqual(zip);

    await client.deleteDependencyVersion(
      new DeleteDependencyVersionRequest().withDependId(depId).withVersion("1"),
    );
    const after = wire(
      await client.listDependencyVersion(new ListDependencyVersionRequest().withDependId(depId)),
    );
    expect(after["count"]).toBe(1);
    await expect(
      client.showDependencyVersion(
        new ShowDependencyVersionRequest().withDependId(depId).withVersion("1"),
      ),
    ).rejects.toMatchObject({ httpStatusCode: 404, errorCode: "FSS.1056" });
  });
});
