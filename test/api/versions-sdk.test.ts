import {
  CreateFunctionVersionRequest,
  CreateFunctionVersionRequestBody,
  CreateVersionAliasRequest,
  CreateVersionAliasRequestBody,
  DeleteFunctionRequest,
  DeleteVersionAliasRequest,
  type FunctionGraphClient,
  InvokeFunctionRequest,
  ListFunctionVersionsRequest,
  ListVersionAliasesRequest,
  ShowFunctionConfigRequest,
  ShowVersionAliasRequest,
  UpdateFunctionConfigRequest,
  UpdateFunctionConfigRequestBody,
  UpdateVersionAliasRequest,
  UpdateVersionAliasRequestBody,
  VersionStrategy,
  VersionStrategyRules,
} from "@huaweicloud/huaweicloud-sdk-functiongraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../helpers/platform.js";
import { sdkClient } from "../helpers/sdk.js";
import { versionsApi } from "./versions-helpers.js";

let t: TestPlatform;
let api: ReturnType<typeof versionsApi>;
let client: FunctionGraphClient;

/** The SDK hands back the parsed JSON itself (snake_case fields), not model instances. */
const wire = (res: unknown): Record<string, unknown> => res as Record<string, unknown>;
const urn = (fn: string, q = ""): string =>
  `urn:fss:local-1:${t.projectId}:function:default:${fn}${q}`;

beforeAll(async () => {
  t = await startTestPlatform();
  api = versionsApi(t);
  client = sdkClient(t.platform.credentials);
});
afterAll(async () => {
  await t.close();
});

const publish = (fn: string, version?: string, description?: string) => {
  const body = new CreateFunctionVersionRequestBody();
  if (version !== undefined) body.withVersion(version);
  if (description !== undefined) body.withDescription(description);
  return client.createFunctionVersion(
    new CreateFunctionVersionRequest().withFunctionUrn(urn(fn)).withBody(body),
  );
};
const createAlias = (fn: string, body: CreateVersionAliasRequestBody) =>
  client.createVersionAlias(
    new CreateVersionAliasRequest().withFunctionUrn(urn(fn)).withBody(body),
  );
const updateAlias = (fn: string, name: string, body: UpdateVersionAliasRequestBody) =>
  client.updateVersionAlias(
    new UpdateVersionAliasRequest().withFunctionUrn(urn(fn)).withAliasName(name).withBody(body),
  );
const aliasBody = (name: string, version: string) =>
  new CreateVersionAliasRequestBody().withName(name).withVersion(version);
/** The SDK's InvokeFunction sends no custom headers: header rules are tested over plain HTTP. */
const invokeVia = async (q: string) => {
  const res = await client.invokeFunction(
    new InvokeFunctionRequest()
      .withFunctionUrn(urn("sdk-ver", q))
      .withXCFFRequestVersion("v1")
      .withBody({}),
  );
  return JSON.parse(res.result!) as { tag: string; version: string; alias: string };
};

describe("versions and aliases through the official SDK (AK/SK)", () => {
  it("publishes V1, V2, V3 and lists them", async () => {
    await api.create("sdk-ver", "A");
    const v1 = await publish("sdk-ver", "v1", "first");
    expect(v1.httpStatusCode).toBe(200);
    expect(wire(v1)["func_urn"]).toBe(urn("sdk-ver", ":v1"));
    expect(wire(v1)["version_description"]).toBe("first");
    await api.setCode("sdk-ver", "B");
    expect(wire(await publish("sdk-ver", "v2"))["version"]).toBe("v2");
    await api.setCode("sdk-ver", "C");
    const generated = await publish("sdk-ver");
    expect(wire(generated)["version"]).toMatch(/^v\d{8}-\d{6}$/);
    await api.setCode("sdk-ver", "D");

    const list = await client.listFunctionVersions(
      new ListFunctionVersionsRequest().withFunctionUrn(urn("sdk-ver")),
    );
    expect(list.count).toBe(4);
    expect(list.versions!.map((v) => wire(v)["version"])).toEqual([
      "latest",
      "v1",
      "v2",
      wire(generated)["version"],
    ]);
    const page = await client.listFunctionVersions(
      new ListFunctionVersionsRequest()
        .withFunctionUrn(urn("sdk-ver"))
        .withMarker("1")
        .withMaxitems("1"),
    );
    expect(page.versions!.map((v) => wire(v)["version"])).toEqual(["v1"]);
    expect(wire(page)["next_marker"]).toBe(2);

    expect(await invokeVia(":v1")).toMatchObject({ tag: "A", version: "v1" });
    expect(await invokeVia(":v2")).toMatchObject({ tag: "B", version: "v2" });
    expect(await invokeVia("")).toMatchObject({ tag: "D", version: "latest" });
  });

  it("creates, lists (bare array), shows, updates and deletes aliases", async () => {
    const strategy = new VersionStrategy()
      .withCombineType("or")
      .withRules([
        new VersionStrategyRules()
          .withRuleType("header")
          .withParam("x-beta")
          .withOp("in")
          .withValue("a,b"),
      ]);
    const c = await createAlias(
      "sdk-ver",
      aliasBody("prod", "v1")
        .withDescription("production")
        .withAdditionalVersionWeights({ v2: 0 })
        .withAdditionalVersionStrategy({ v2: strategy }),
    );
    expect(c.httpStatusCode).toBe(200);
    expect(wire(c)["alias_urn"]).toBe(urn("sdk-ver", ":!prod"));

    const list = await client.listVersionAliases(
      new ListVersionAliasesRequest().withFunctionUrn(urn("sdk-ver")),
    );
    // The server sends a bare JSON array; the SDK hands it back as is.
    expect(Array.isArray(list)).toBe(true);
    const items = list as unknown as unknown[];
    expect(items.map((a) => wire(a)["name"])).toEqual(["prod"]);

    const show = await client.showVersionAlias(
      new ShowVersionAliasRequest().withFunctionUrn(urn("sdk-ver")).withAliasName("prod"),
    );
    expect(wire(show)).toMatchObject({
      name: "prod",
      version: "v1",
      additional_version_weights: { v2: 0 },
      additional_version_strategy: {
        v2: { combine_type: "or", rules: [{ rule_type: "header", param: "x-beta", op: "in" }] },
      },
    });
    expect(await invokeVia(":!prod")).toMatchObject({ tag: "A", version: "v1", alias: "prod" });

    const u = await updateAlias(
      "sdk-ver",
      "prod",
      new UpdateVersionAliasRequestBody()
        .withVersion("v1")
        .withAdditionalVersionWeights({ v2: 100 }),
    );
    expect(wire(u)["additional_version_weights"]).toEqual({ v2: 100 });
    expect(await invokeVia(":!prod")).toMatchObject({ tag: "B", version: "v2", alias: "prod" });

    const cfg = await client.showFunctionConfig(
      new ShowFunctionConfigRequest().withFunctionUrn(urn("sdk-ver", ":!prod")),
    );
    expect(wire(cfg)["version"]).toBe("v1");

    const d = await client.deleteVersionAlias(
      new DeleteVersionAliasRequest().withFunctionUrn(urn("sdk-ver")).withAliasName("prod"),
    );
    expect(d.httpStatusCode).toBe(204);
  });

  it("deletes a version with DeleteFunction and a version URN", async () => {
    await api.setCode("sdk-ver", "E");
    expect((await publish("sdk-ver", "tmp")).httpStatusCode).toBe(200);
    const del = await client.deleteFunction(
      new DeleteFunctionRequest().withFunctionUrn(urn("sdk-ver", ":tmp")),
    );
    expect(del.httpStatusCode).toBe(204);
    await expect(
      client.showFunctionConfig(
        new ShowFunctionConfigRequest().withFunctionUrn(urn("sdk-ver", ":tmp")),
      ),
    ).rejects.toMatchObject({ httpStatusCode: 404, errorCode: "FSS.1052" });
  });

  it("answers every version and alias error code", async () => {
    const fails = (p: Promise<unknown>, status: number, code: string) =>
      expect(p, code).rejects.toMatchObject({ httpStatusCode: status, errorCode: code });

    await api.createWithVersions("sdk-err", ["A", "B", "C"]);
    // Publish: nothing new, duplicate name, reserved/bad names.
    await fails(publish("sdk-err", "v4"), 400, "FSS.1016");
    await api.setCode("sdk-err", "D");
    await fails(publish("sdk-err", "v1"), 409, "FSS.1062");
    await fails(publish("sdk-err", "latest"), 400, "FSS.1015");
    await fails(publish("sdk-err", "bad name"), 400, "FSS.1015");
    await fails(publish("sdk-nope", "v1"), 404, "FSS.1051");
    // Only latest is mutable.
    await fails(
      client.updateFunctionConfig(
        new UpdateFunctionConfigRequest()
          .withFunctionUrn(urn("sdk-err", ":v1"))
          .withBody(
            new UpdateFunctionConfigRequestBody()
              .withFuncName("sdk-err")
              .withRuntime("Node.js20.15")
              .withHandler("index.handler")
              .withMemorySize(256)
              .withTimeout(10),
          ),
      ),
      400,
      "FSS.1015",
    );
    await fails(
      client.listFunctionVersions(
        new ListFunctionVersionsRequest().withFunctionUrn(urn("sdk-err")).withMaxitems("0"),
      ),
      400,
      "FSS.1001",
    );

    // Aliases.
    await fails(createAlias("sdk-err", aliasBody("9bad", "v1")), 400, "FSS.1014");
    await fails(createAlias("sdk-err", aliasBody("a1", "v9")), 404, "FSS.1052");
    await fails(
      createAlias("sdk-err", aliasBody("a1", "v1").withAdditionalVersionWeights({ v9: 5 })),
      400,
      "FSS.1091",
    );
    await fails(
      createAlias("sdk-err", aliasBody("a1", "v1").withAdditionalVersionWeights({ v2: 150 })),
      400,
      "FSS.1092",
    );
    await fails(
      createAlias("sdk-err", aliasBody("a1", "v1").withAdditionalVersionWeights({ v1: 5 })),
      400,
      "FSS.1093",
    );
    expect(
      (await createAlias("sdk-err", aliasBody("a1", "v1").withAdditionalVersionWeights({ v2: 5 })))
        .httpStatusCode,
    ).toBe(200);
    await fails(createAlias("sdk-err", aliasBody("a1", "v3")), 409, "FSS.1063");
    await fails(createAlias("sdk-err", aliasBody("a2", "v1")), 409, "FSS.1066");
    await fails(
      updateAlias("sdk-err", "nope", new UpdateVersionAliasRequestBody().withVersion("v1")),
      404,
      "FSS.1053",
    );
    await fails(
      client.showVersionAlias(
        new ShowVersionAliasRequest().withFunctionUrn(urn("sdk-err")).withAliasName("nope"),
      ),
      404,
      "FSS.1053",
    );
    await fails(
      client.deleteVersionAlias(
        new DeleteVersionAliasRequest().withFunctionUrn(urn("sdk-err")).withAliasName("nope"),
      ),
      404,
      "FSS.1053",
    );
    await fails(
      client.deleteFunction(new DeleteFunctionRequest().withFunctionUrn(urn("sdk-err", ":v2"))),
      403,
      "FSS.1094",
    );
    await fails(
      client.deleteFunction(new DeleteFunctionRequest().withFunctionUrn(urn("sdk-err", ":latest"))),
      400,
      "FSS.1015",
    );

    // Alias quota: a1 plus nine more on latest and new versions.
    expect((await createAlias("sdk-err", aliasBody("a2", "latest"))).httpStatusCode).toBe(200);
    expect((await createAlias("sdk-err", aliasBody("a3", "v2"))).httpStatusCode).toBe(200);
    expect((await createAlias("sdk-err", aliasBody("a4", "v3"))).httpStatusCode).toBe(200);
    for (let i = 5; i <= 10; i++) {
      await t.api("PUT", api.fnPath("sdk-err") + "/config", { description: `q${i}` });
      expect((await publish("sdk-err", `q${i}`)).httpStatusCode).toBe(200);
      expect((await createAlias("sdk-err", aliasBody(`a${i}`, `q${i}`))).httpStatusCode).toBe(200);
    }
    await fails(createAlias("sdk-err", aliasBody("a11", "v1")), 403, "FSS.1043");

    // Version quota: 20 including latest (10 so far: latest, v1-v3, q5-q10).
    for (let i = 11; i <= 20; i++) {
      await t.api("PUT", api.fnPath("sdk-err") + "/config", { description: `r${i}` });
      expect((await publish("sdk-err", `r${i}`)).httpStatusCode).toBe(200);
    }
    await t.api("PUT", api.fnPath("sdk-err") + "/config", { description: "r21" });
    await fails(publish("sdk-err", "r21"), 403, "FSS.0403");

    // Deleting the function removes every version and alias.
    expect(
      (await client.deleteFunction(new DeleteFunctionRequest().withFunctionUrn(urn("sdk-err"))))
        .httpStatusCode,
    ).toBe(204);
    await fails(
      client.listVersionAliases(new ListVersionAliasesRequest().withFunctionUrn(urn("sdk-err"))),
      404,
      "FSS.1051",
    );
  });
});
