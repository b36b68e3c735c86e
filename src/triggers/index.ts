/** Triggers: one folder per type behind TriggerKind/TriggerSource; the registry is registry.ts. */
export {
  createTriggerRegistry,
  type TriggerRegistry,
  type TriggerRegistryDeps,
} from "./registry.js";
export {
  createTriggerService,
  MAX_TRIGGERS_PER_QUALIFIER,
  type TriggerService,
  type TriggerServiceDeps,
} from "./service.js";
export { createAsyncDelivery, type AsyncDeliveryDeps } from "./delivery.js";
export {
  APIG_MAX_BODY_BYTES,
  APIG_MAX_TIMEOUT_MS,
  buildApigEvent,
  toApigResponse,
  type RouteTable,
} from "./apig/index.js";
export type {
  Delivery,
  Outcome,
  TriggerKind,
  TriggerRecord,
  TriggerSource,
  TriggerStatus,
  TriggerType,
} from "./types.js";
