// Invoke a function with the official Huawei Cloud SDK for FunctionGraph (AK/SK signing).
// Usage: node examples/sdk/invoke.mjs [function-name] [data-dir]
import { readFileSync } from "node:fs";
import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core";
import {
  FunctionGraphClient,
  InvokeFunctionRequest,
} from "@huaweicloud/huaweicloud-sdk-functiongraph";

const name = process.argv[2] ?? "hello";
const dataDir = process.argv[3] ?? "./data";
const c = JSON.parse(readFileSync(`${dataDir}/credentials.json`, "utf8"));

const client = FunctionGraphClient.newBuilder()
  .withCredential(
    new BasicCredentials().withAk(c.access_key).withSk(c.secret_key).withProjectId(c.project_id),
  )
  .withEndpoint(c.endpoint)
  .build();

const urn = `urn:fss:${c.region}:${c.project_id}:function:default:${name}:latest`;
const res = await client.invokeFunction(
  new InvokeFunctionRequest()
    .withFunctionUrn(urn)
    .withXCFFRequestVersion("v1")
    .withBody({ name: "SDK" }),
);
console.log("status:", res.status);
console.log("result:", res.result);
