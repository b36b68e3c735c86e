/**
 * Drives the official Huawei Cloud SDK's own request pipeline against a local capture server, so
 * the verifier is tested against exactly what the SDK puts on the wire.
 *
 * Path: `HcClient.sendRequest` (path params, content type) → `BasicCredentials.processAuthRequest`
 * (X-Project-Id, X-Security-Token, `AKSKSigner.sign` or `DerivedAKSKSigner.sign`) →
 * `DefaultHttpClient` (axios with the SDK's querystring serializer). This is what
 * `FunctionGraphClient` does minus `ClientBuilder`, which we skip only because the installed
 * core 3.1.211 requires `uuid` (for the User-Agent app id) without declaring it as a dependency.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { HttpRequestOptions } from "@huaweicloud/huaweicloud-sdk-core/HcClient.js";
import { HcClient } from "@huaweicloud/huaweicloud-sdk-core/HcClient.js";
import { DefaultHttpClient } from "@huaweicloud/huaweicloud-sdk-core/http/DefaultHttpClient.js";
import type { ICredential } from "@huaweicloud/huaweicloud-sdk-core/auth/ICredential.js";

export interface CapturedRequest {
  method: string;
  rawUrl: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface SdkWire {
  endpoint: string;
  /** Sends through the SDK and returns the request exactly as the server received it. */
  send(credential: ICredential, options: Partial<HttpRequestOptions>): Promise<CapturedRequest>;
  close(): Promise<void>;
}

export async function startSdkWire(): Promise<SdkWire> {
  const captured: CapturedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      captured.push({
        method: req.method ?? "",
        rawUrl: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    async send(credential, options) {
      const before = captured.length;
      const client = new HcClient(new DefaultHttpClient({}, [endpoint]), {})
        .withCredential(credential)
        .withEndpoints([endpoint]);
      await client.sendRequest({
        method: "GET",
        url: "/",
        contentType: "application/json",
        queryParams: {},
        pathParams: {},
        headers: {},
        ...options,
      });
      const req = captured[before];
      if (captured.length !== before + 1 || req === undefined) {
        throw new Error("expected exactly one captured request");
      }
      return req;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
}
