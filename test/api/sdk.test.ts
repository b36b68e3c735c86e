import {
  CreateFunctionRequest,
  CreateFunctionRequestBody,
  DeleteFunctionRequest,
  ExportFunctionRequest,
  FuncCode,
  type FunctionGraphClient,
  InvokeFunctionRequest,
  ListFunctionsRequest,
  ShowFunctionCodeRequest,
  ShowFunctionConfigRequest,
  UpdateFunctionCodeRequest,
  UpdateFunctionCodeRequestBody,
  UpdateFunctionConfigRequest,
  UpdateFunctionConfigRequestBody,
} from "@huaweicloud/huaweicloud-sdk-functiongraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fixtureFiles,
  startTestPlatform,
  zipFiles,
  type TestPlatform,
} from "../helpers/platform.js";
import { sdkClient } from "../helpers/sdk.js";

let t: TestPlatform;
let client: FunctionGraphClient;

/** The SDK hands back the parsed JSON itself (snake_case fields), not model instances. */
/** The SDK types events as string → object maps; any JSON object goes on the wire. */
const event = (e: Record<string, unknown>): Record<string, object> => e as Record<string, object>;
const wire = (res: object): Record<string, unknown> => res as Record<string, unknown>;

beforeAll(async () => {
  t = await startTestPlatform();
  client = sdkClient(t.platform.credentials);
});
afterAll(async () => {
  await t.close();
});

async function sdkCreate(
  name: string,
  runtime: string,
  files: Record<string, string | Buffer>,
  handler = "index.handler",
) {
  const zip = await zipFiles(files);
  const body = new CreateFunctionRequestBody()
    .withFuncName(name)
    .withPackage("default")
    .withRuntime(runtime)
    .withHandler(handler)
    .withMemorySize(128)
    .withTimeout(10)
    .withCodeType("zip")
    .withCodeFilename("code.zip")
    .withFuncCode(new FuncCode().withFile(zip.toString("base64")))
    .withUserData(JSON.stringify({ greeting: "sdk" }));
  return client.createFunction(new CreateFunctionRequest().withBody(body));
}

describe("the official Huawei Cloud SDK (AK/SK) against fngraph", () => {
  it("creates Node.js and Python functions", async () => {
    const node = await sdkCreate("sdk-node", "Node.js20.15", fixtureFiles("node-context"));
    expect(wire(node)["func_name"]).toBe("sdk-node");
    expect(wire(node)["func_urn"]).toBe(
      `urn:fss:local-1:${t.projectId}:function:default:sdk-node:latest`,
    );
    expect(node.httpStatusCode).toBe(200);
    const py = await sdkCreate("sdk-py", "Python3.10", fixtureFiles("py-echo"));
    expect(wire(py)["runtime"]).toBe("Python3.10");
  });

  it("invokes with the v1 envelope and a log tail", async () => {
    const urn = `urn:fss:local-1:${t.projectId}:function:default:sdk-node:latest`;
    const res = await client.invokeFunction(
      new InvokeFunctionRequest()
        .withFunctionUrn(urn)
        .withXCFFRequestVersion("v1")
        .withXCffLogType("tail")
        .withBody(event({ k: "v" })),
    );
    expect(res.status).toBe(200);
    const result = JSON.parse(res.result!) as { functionName: string; userData: string };
    expect(result.functionName).toBe("sdk-node");
    expect(result.userData).toBe("sdk");
    expect(res.log).toContain("Start invoke request");
    const py = await client.invokeFunction(
      new InvokeFunctionRequest()
        .withFunctionUrn(`urn:fss:local-1:${t.projectId}:function:default:sdk-py`)
        .withXCFFRequestVersion("v1")
        .withBody(event({ n: 1 })),
    );
    expect(py.status).toBe(200);
    expect(JSON.parse(py.result!)).toEqual({ n: 1 });
  });

  it("shows and updates config and code", async () => {
    const urn = `urn:fss:local-1:${t.projectId}:function:default:sdk-py:latest`;
    const cfg = await client.showFunctionConfig(
      new ShowFunctionConfigRequest().withFunctionUrn(urn),
    );
    expect(wire(cfg)["memory_size"]).toBe(128);
    const up = await client.updateFunctionConfig(
      new UpdateFunctionConfigRequest()
        .withFunctionUrn(urn)
        .withBody(
          new UpdateFunctionConfigRequestBody()
            .withFuncName("sdk-py")
            .withRuntime("Python3.10")
            .withHandler("index.handler")
            .withMemorySize(256)
            .withTimeout(20),
        ),
    );
    expect(wire(up)["memory_size"]).toBe(256);
    expect(up.timeout).toBe(20);
    const code = await client.showFunctionCode(new ShowFunctionCodeRequest().withFunctionUrn(urn));
    expect(code.digest).toMatch(/^[0-9a-f]{128}$/);
    const zip = await zipFiles({
      "index.py": "def handler(event, context):\n    return 'updated'\n",
    });
    const newCode = await client.updateFunctionCode(
      new UpdateFunctionCodeRequest().withFunctionUrn(urn).withBody(
        new UpdateFunctionCodeRequestBody()
          .withCodeType("zip")
          .withCodeFilename("c.zip")
          .withFuncCode(new FuncCode().withFile(zip.toString("base64"))),
      ),
    );
    expect(newCode.digest).not.toBe(code.digest);
    const res = await client.invokeFunction(
      new InvokeFunctionRequest().withFunctionUrn(urn).withXCFFRequestVersion("v1").withBody({}),
    );
    expect(res.result).toBe("updated");
  });

  it("lists and exports", async () => {
    const list = await client.listFunctions(new ListFunctionsRequest().withMaxitems("100"));
    expect(list.functions!.map((f) => wire(f)["func_name"])).toEqual(
      expect.arrayContaining(["sdk-node", "sdk-py"]),
    );
    expect(list.count).toBe(list.functions!.length);
    const exp = await client.exportFunction(
      new ExportFunctionRequest()
        .withFunctionUrn(`urn:fss:local-1:${t.projectId}:function:default:sdk-py:latest`)
        .withType("code"),
    );
    expect(exp.httpStatusCode).toBe(200);
  });

  it("deletes", async () => {
    const del = await client.deleteFunction(
      new DeleteFunctionRequest().withFunctionUrn(
        `urn:fss:local-1:${t.projectId}:function:default:sdk-py`,
      ),
    );
    expect(del.httpStatusCode).toBe(204);
    await expect(
      client.showFunctionConfig(
        new ShowFunctionConfigRequest().withFunctionUrn(
          `urn:fss:local-1:${t.projectId}:function:default:sdk-py:latest`,
        ),
      ),
    ).rejects.toMatchObject({ httpStatusCode: 404, errorCode: "FSS.1051" });
  });

  it("finds the project id through GET /v3/projects when none is configured", async () => {
    const noProject = sdkClient(t.platform.credentials, { projectId: "" });
    const list = await noProject.listFunctions(new ListFunctionsRequest());
    expect(list.functions!.map((f) => wire(f)["func_name"])).toContain("sdk-node");
  });

  it("is refused with a wrong secret key (401) and for another project (403)", async () => {
    await expect(
      sdkClient(t.platform.credentials, { sk: "x".repeat(40) }).listFunctions(
        new ListFunctionsRequest(),
      ),
    ).rejects.toMatchObject({
      httpStatusCode: 401,
      errorCode: "FSS.0401",
    });
    await expect(
      sdkClient(t.platform.credentials, { projectId: "0".repeat(32) }).listFunctions(
        new ListFunctionsRequest(),
      ),
    ).rejects.toMatchObject({
      httpStatusCode: 403,
      errorCode: "FSS.0403",
    });
  });
});
