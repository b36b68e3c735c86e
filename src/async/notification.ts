import type { AsyncInvocation } from "../store/async.js";

/** How an invocation ended, as the destination sees it. */
export interface Outcome {
  /** 200 when the function ran (even if it failed); else the platform's status. */
  statusCode: number;
  functionError: string;
  responsePayload: string;
  /** "" on success; why it failed otherwise (values are this installation's choice). */
  condition: "" | "RetriesExhausted" | "EventAgeExceeded" | "FunctionNotFound";
}

/** The notification payload of contract §1.9, sent as the event of a FunctionGraph destination. */
export function toNotification(
  row: AsyncInvocation,
  attempts: number,
  outcome: Outcome,
  now: number,
): Record<string, unknown> {
  return {
    timestamp: new Date(now).toISOString().replace(/Z$/, "+00:00"),
    request_context: {
      request_id: row.requestId,
      function_urn: row.funcUrn,
      condition: outcome.condition,
      approximate_invoke_count: attempts,
    },
    request_payload: row.event,
    response_context: {
      status_code: outcome.statusCode,
      function_error: outcome.functionError,
    },
    response_payload: outcome.responsePayload,
  };
}
