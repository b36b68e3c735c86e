import {
  AsyncInvokeFunctionRequest,
  CancelAsyncInvocationRequest,
  CancelAsyncInvocationRequestBody,
  DeleteFunctionAsyncInvokeConfigRequest,
  FuncAsyncDestinationConfig,
  FuncDestinationConfig,
  type FunctionGraphClient,
  ListActiveAsyncInvocationsRequest,
  ListAsyncInvocationsRequest,
  ListFunctionAsyncInvokeConfigRequest,
  ShowFunctionAsyncInvokeConfigRequest,
  UpdateFunctionAsyncInvokeConfigRequest,
  UpdateFunctionAsyncInvokeConfigRequestBody,
} from "@huaweicloud/huaweicloud-sdk-functiongraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createBody } from "../helpers/platform.js";
import { sdkClient } from "../helpers/sdk.js";
import { startAsyncPlatform, waitFor } from "../async/helpers.js";
import { invocationLog as wholeLog } from "../../src/invoker/log-format.js";
import { findInvocation } from "../../src/store/sqlite/invocation-rows.js";

let t: Awaited<ReturnType<typeof startAsyncPlatform>>;
let client: FunctionGraphClient;
const urns: Record<string, string> = {};

const wire = (res: object): Record<string, unknown> => res as Record<string, unknown>;
const event = (e: Record<string, unknown>): Record<string, object> => e as Record<string, object>;
const recordList = z.object({
  invocations: z.array(
    z.object({
      request_id: z.string(),
      status: z.string(),
      error_code: z.number(),
      error_message: z.string(),
      start_time: z.string(),
      end_time: z.string(),
      invoke_count: z.number(),
      destination_status: z.string(),
    }),
  ),
  count: z.number(),
  next_marker: z.number(),
});
type Rec = z.infer<typeof recordList>["invocations"][number];

/** Fails the first `fail` attempts of each event id (counted in the warm instance's memory). */
const FLAKY = {
  "index.js": `const seen = {};
exports.handler = async (event) => {
  seen[event.id] = (seen[event.id] || 0) + 1;
  if (seen[event.id] <= (event.fail || 0)) throw new Error("attempt " + seen[event.id] + " fails");
  if (event.sleep) await new Promise((r) => setTimeout(r, event.sleep));
  return { id: event.id, attempt: seen[event.id] };
};`,
};
/** Writes every notification it receives to its log. */
const SINK = {
  "index.js": `exports.handler = async (event) => { console.log("NOTIFIED " + JSON.stringify(event)); return "ok"; };`,
};

async function create(name: string, files: Record<string, string>, extra = {}): Promise<string> {
  const r = await t.api(
    "POST",
    t.v2("/fgs/functions"),
    await createBody(name, "Node.js20.15", files, { timeout: 30, ...extra }),
  );
  expect(r.status).toBe(200);
  return (r.json as { func_urn: string }).func_urn;
}

async function record(urn: string, id: string): Promise<Rec | undefined> {
  const r = await client.listAsyncInvocations(
    new ListAsyncInvocationsRequest().withFunctionUrn(urn).withRequestId(id),
  );
  return recordList.parse(wire(r)).invocations[0];
}

async function finished(urn: string, id: string, ms = 15_000): Promise<Rec> {
  return waitFor(
    async () => {
      const r = await record(urn, id);
      return r && ["SUCCESS", "FAIL", "DISCARD"].includes(r.status) ? r : undefined;
    },
    ms,
    `request ${id} to finish`,
  );
}

async function invokeAsync(urn: string, body: Record<string, unknown>): Promise<string> {
  const res = wire(
    await client.asyncInvokeFunction(
      new AsyncInvokeFunctionRequest().withFunctionUrn(urn).withBody(event(body)),
    ),
  );
  expect(res["httpStatusCode"] ?? 202).toBe(202);
  return z.object({ request_id: z.string() }).parse(res).request_id;
}

async function putConfig(urn: string, body: UpdateFunctionAsyncInvokeConfigRequestBody) {
  return wire(
    await client.updateFunctionAsyncInvokeConfig(
      new UpdateFunctionAsyncInvokeConfigRequest().withFunctionUrn(urn).withBody(body),
    ),
  );
}

const fgDestination = (urn: string) =>
  new FuncDestinationConfig()
    .withDestination("FunctionGraph")
    .withParam(JSON.stringify({ func_urn: urn }));

/** The log of one invocation, from the platform's own records. */
function invocationLog(requestId: string): string | undefined {
  const r = findInvocation(t.db(), requestId);
  return r ? wholeLog(r) : undefined;
}

beforeAll(async () => {
  t = await startAsyncPlatform({ asyncDispatch: { retryBaseMs: 50, retryMaxMs: 200 } });
  client = sdkClient(t.platform.credentials);
  urns["flaky"] = await create("async-flaky", FLAKY, {
    strategy_config: { concurrency: 1, concurrent_num: 20 },
  });
  urns["sink"] = await create("async-sink", SINK);
  urns["other"] = await create("async-other", SINK);
});
afterAll(async () => {
  await t?.close();
});

describe("async invocation through the API and the official SDK", () => {
  it("accepts with 202 and a request id, runs the function, records SUCCESS", async () => {
    const raw = await t.api("POST", t.v2(`/fgs/functions/${urns["flaky"]}/invocations-async`), {
      id: "plain",
    });
    expect(raw.status).toBe(202);
    const id = z.object({ request_id: z.string() }).parse(raw.json).request_id;
    const rec = await finished(urns["flaky"]!, id);
    expect(rec).toMatchObject({
      status: "SUCCESS",
      error_code: 0,
      error_message: "",
      invoke_count: 1,
    });
    expect(rec.start_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    expect(rec.end_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    // Invocation records are written in batches off the hot path: wait for this one.
    await expect.poll(() => invocationLog(id)).toContain(`Start invoke request '${id}'`);
    const sdkId = await invokeAsync(urns["flaky"]!, { id: "sdk" });
    expect((await finished(urns["flaky"]!, sdkId)).status).toBe("SUCCESS");
  });

  it("manages the async invoke config per version with the SDK", async () => {
    const urn = urns["other"]!;
    await expect(
      client.showFunctionAsyncInvokeConfig(
        new ShowFunctionAsyncInvokeConfigRequest().withFunctionUrn(urn),
      ),
    ).rejects.toMatchObject({ httpStatusCode: 404 });
    const put = await putConfig(
      urn,
      new UpdateFunctionAsyncInvokeConfigRequestBody()
        .withMaxAsyncRetryAttempts(8)
        .withMaxAsyncEventAgeInSeconds(600)
        .withEnableAsyncStatusLog(true)
        .withDestinationConfig(
          new FuncAsyncDestinationConfig().withOnSuccess(
            new FuncDestinationConfig()
              .withDestination("OBS")
              .withParam('{"bucket":"b","prefix":"p","expires":0}'),
          ),
        ),
    );
    expect(put).toMatchObject({
      func_urn: `${urn}`.replace(/:latest$/, "") + ":latest",
      max_async_retry_attempts: 8,
      max_async_event_age_in_seconds: 600,
      enable_async_status_log: true,
      destination_config: {
        on_success: { destination: "OBS", param: '{"bucket":"b","prefix":"p","expires":0}' },
      },
    });
    const shown = wire(
      await client.showFunctionAsyncInvokeConfig(
        new ShowFunctionAsyncInvokeConfigRequest().withFunctionUrn(urn),
      ),
    );
    expect(shown).toMatchObject({
      max_async_retry_attempts: 8,
      max_async_event_age_in_seconds: 600,
    });
    const list = wire(
      await client.listFunctionAsyncInvokeConfig(
        new ListFunctionAsyncInvokeConfigRequest().withFunctionUrn(urn),
      ),
    );
    expect(list).toMatchObject({ count: 1 });
    // OBS is accepted and stored; deliveries are recorded as not deliverable.
    const id = await invokeAsync(urn, { x: 1 });
    const rec = await finished(urn, id);
    expect(rec.status).toBe("SUCCESS");
    expect(rec.destination_status).toMatch(/^NOT_DELIVERABLE OBS/);
    await client.deleteFunctionAsyncInvokeConfig(
      new DeleteFunctionAsyncInvokeConfigRequest().withFunctionUrn(urn),
    );
    const gone = await t.api("GET", t.v2(`/fgs/functions/${urn}/async-invoke-config`));
    expect(gone.status).toBe(404);
  });

  it("validates configs: ranges, destination params, cycles", async () => {
    const put = (urn: string, body: unknown) =>
      t.api("PUT", t.v2(`/fgs/functions/${urn}/async-invoke-config`), body);
    for (const body of [
      { max_async_retry_attempts: 9 },
      { max_async_retry_attempts: -1 },
      { max_async_event_age_in_seconds: 0 },
      { max_async_event_age_in_seconds: 86401 },
      { destination_config: { on_success: { destination: "SMN", param: "{}" } } },
      { destination_config: { on_success: { destination: "KAFKA", param: "{}" } } },
      { destination_config: { on_failure: { destination: "FunctionGraph", param: "not json" } } },
    ]) {
      const r = await put(urns["other"]!, body);
      expect([r.status, (r.json as { error_code: string }).error_code]).toEqual([400, "FSS.0400"]);
    }
    const missing = await put(urns["other"]!, {
      destination_config: {
        on_failure: { destination: "FunctionGraph", param: JSON.stringify({ func_urn: "nope" }) },
      },
    });
    expect(missing.status).toBe(404);
    const toSelf = await put(urns["other"]!, {
      destination_config: {
        on_failure: {
          destination: "FunctionGraph",
          param: JSON.stringify({ func_urn: urns["other"] }),
        },
      },
    });
    expect(toSelf.status).toBe(400);
    // other → sink is fine; sink → other would close the loop.
    const ok = await put(urns["other"]!, {
      destination_config: {
        on_success: {
          destination: "FunctionGraph",
          param: JSON.stringify({ func_urn: urns["sink"] }),
        },
      },
    });
    expect(ok.status).toBe(200);
    const cycle = await put(urns["sink"]!, {
      destination_config: {
        on_failure: {
          destination: "FunctionGraph",
          param: JSON.stringify({ func_urn: urns["other"] }),
        },
      },
    });
    expect([cycle.status, (cycle.json as { error_code: string }).error_code]).toEqual([
      400,
      "FSS.0400",
    ]);
    expect(
      (await t.api("DELETE", t.v2(`/fgs/functions/${urns["other"]}/async-invoke-config`))).status,
    ).toBe(204);
  });

  it("retries per max_async_retry_attempts and notifies destinations with the §1.9 payload", async () => {
    const urn = urns["flaky"]!;
    await putConfig(
      urn,
      new UpdateFunctionAsyncInvokeConfigRequestBody()
        .withMaxAsyncRetryAttempts(2)
        .withDestinationConfig(
          new FuncAsyncDestinationConfig()
            .withOnSuccess(fgDestination(urns["sink"]!))
            .withOnFailure(fgDestination(urns["sink"]!)),
        ),
    );
    const okId = await invokeAsync(urn, { id: "twice", fail: 2 });
    const failId = await invokeAsync(urn, { id: "always", fail: 99 });
    const ok = await finished(urn, okId);
    const failed = await finished(urn, failId);
    expect(ok).toMatchObject({ status: "SUCCESS", invoke_count: 3 });
    expect(failed).toMatchObject({ status: "FAIL", invoke_count: 3, error_code: 4002 });
    expect(failed.error_message).toMatch(/attempt 3 fails/);
    for (const [rec, cond, count] of [
      [ok, "", 3],
      [failed, "RetriesExhausted", 3],
    ] as const) {
      const destId = /^QUEUED (\S+)$/.exec(rec.destination_status)?.[1];
      expect(destId).toBeDefined();
      expect((await finished(urns["sink"]!, destId!)).status).toBe("SUCCESS");
      await expect.poll(() => invocationLog(destId!)).toMatch(/NOTIFIED /);
      const log = invocationLog(destId!) ?? "";
      const payload = JSON.parse(/NOTIFIED (.*)/.exec(log)![1]!) as Record<string, unknown>;
      expect(payload).toMatchObject({
        request_context: {
          request_id: rec.request_id,
          function_urn: urn,
          condition: cond,
          approximate_invoke_count: count,
        },
        response_context: { status_code: 200 },
      });
      expect(JSON.parse(payload["request_payload"] as string)).toMatchObject({
        id: rec === ok ? "twice" : "always",
      });
    }
    await t.api("DELETE", t.v2(`/fgs/functions/${urn}/async-invoke-config`));
  });

  it("cancels a running request (4208); unknown ids are refused", async () => {
    const urn = urns["flaky"]!;
    const id = await invokeAsync(urn, { id: "slow", sleep: 20_000 });
    await waitFor(async () => ((await record(urn, id))?.status === "RUNNING" ? true : undefined));
    const active = recordList.parse(
      wire(
        await client.listActiveAsyncInvocations(
          new ListActiveAsyncInvocationsRequest().withFunctionUrn(urn),
        ),
      ),
    );
    expect(active.invocations.map((r) => r.request_id)).toContain(id);
    const res = await client.cancelAsyncInvocation(
      new CancelAsyncInvocationRequest()
        .withFunctionUrn(urn)
        .withBody(new CancelAsyncInvocationRequestBody().withRequestId(id).withType("force")),
    );
    expect(wire(res)["httpStatusCode"] ?? 200).toBe(200);
    const rec = await finished(urn, id, 10_000);
    expect(rec).toMatchObject({ status: "FAIL", error_code: 4208 });
    const bad = await t.api("POST", t.v2(`/fgs/functions/${urn}/cancel`), { request_id: "nope" });
    expect([bad.status, (bad.json as { error_code: string }).error_code]).toEqual([
      400,
      "FSS.0400",
    ]);
    const again = await t.api("POST", t.v2(`/fgs/functions/${urn}/cancel`), { request_id: id });
    expect(again.status).toBe(400);
  });

  it("refuses events over 256 KB with 413 and lists records with the contract's filters", async () => {
    const urn = urns["sink"]!;
    const big = await t.api("POST", t.v2(`/fgs/functions/${urn}/invocations-async`), {
      pad: "x".repeat(256 * 1024),
    });
    expect([big.status, (big.json as { error_code: string }).error_code]).toEqual([
      413,
      "FSS.1201",
    ]);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await invokeAsync(urn, { i }));
    for (const id of ids) await finished(urn, id);
    const base = `/fgs/functions/${urn}/async-invocations`;
    const page = await t.api("GET", t.v2(`${base}?limit=2&status=SUCCESS`));
    const p = recordList.parse(page.json);
    expect(p.invocations).toHaveLength(2);
    expect(p.count).toBeGreaterThanOrEqual(3);
    expect(p.next_marker).toBe(2);
    const old = await t.api(
      "GET",
      t.v2(`${base}?query_begin_time=2020-01-01T00:00:00&query_end_time=2020-01-01T01:00:00`),
    );
    expect(recordList.parse(old.json).count).toBe(0);
    for (const q of ["limit=501", "status=DONE", "query_begin_time=yesterday", "marker=-1"]) {
      expect((await t.api("GET", t.v2(`${base}?${q}`))).status).toBe(400);
    }
  });
});
