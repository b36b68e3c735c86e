import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core";
import { Region } from "@huaweicloud/huaweicloud-sdk-core/region/region.js";
import { FunctionGraphClient } from "@huaweicloud/huaweicloud-sdk-functiongraph";
import type { Credentials } from "../../src/main.js";

/**
 * The official client, configured as a user would from credentials.json. `projectId` and `sk`
 * replace the credentials' own; `projectId: ""` leaves it out, and the SDK asks IAM
 * (GET /v3/projects?name=<region>) for it.
 */
export function sdkClient(
  c: Credentials,
  opts: { projectId?: string; sk?: string } = {},
): FunctionGraphClient {
  const cred = new BasicCredentials()
    .withAk(c.access_key)
    .withSk(opts.sk ?? c.secret_key)
    .withIamEndpoint(c.endpoint);
  if (opts.projectId !== "") {
    cred.withProjectId(opts.projectId ?? c.project_id);
    return FunctionGraphClient.newBuilder().withCredential(cred).withEndpoint(c.endpoint).build();
  }
  return FunctionGraphClient.newBuilder()
    .withCredential(cred)
    .withRegion(new Region(c.region, c.endpoint))
    .build();
}
