import { toQualifiedUrn } from "../core/urn.js";
import type { AsyncPolicy, AsyncStore, NewAsyncInvocation } from "../store/async.js";
import { ASYNC_DEFAULTS, qualifierOf, type ResolvedTarget } from "./types.js";
import { newRequestId } from "../core/request-id.js";

/** Headers kept with a queued request and handed to the function (no credentials). */
const KEPT_HEADERS = /^x-cff-(workflow-|origin-|stream-)/;

export function keptHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => KEPT_HEADERS.test(k)));
}

/** The policy snapshot of the config of the target's qualifier (defaults when none). */
export async function policyFor(store: AsyncStore, t: ResolvedTarget): Promise<AsyncPolicy> {
  const c = await store.getConfig(t.fn.id, qualifierOf(t));
  if (!c) return { ...ASYNC_DEFAULTS };
  return {
    maxRetries: c.maxRetries,
    maxAgeSeconds: c.maxAgeSeconds,
    ...(c.onSuccess ? { onSuccess: c.onSuccess } : {}),
    ...(c.onFailure ? { onFailure: c.onFailure } : {}),
  };
}

/** A queue row for an accepted request on a resolved target. */
export async function prepareInvocation(
  store: AsyncStore,
  t: ResolvedTarget,
  input: { event: string; headers: Record<string, string>; memoryMb?: number; now: number },
): Promise<NewAsyncInvocation> {
  const qualifier = qualifierOf(t);
  return {
    requestId: newRequestId(input.now),
    projectId: t.fn.projectId,
    functionId: t.fn.id,
    funcUrn: toQualifiedUrn(t.ref, qualifier),
    qualifier,
    event: input.event,
    headers: keptHeaders(input.headers),
    ...(input.memoryMb ? { memoryMb: input.memoryMb } : {}),
    policy: await policyFor(store, t),
    createdAt: input.now,
  };
}
