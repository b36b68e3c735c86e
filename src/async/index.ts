export { createAsyncService, type AsyncService } from "./service.js";
export { createDispatcher, type Dispatcher, type DispatcherOptions } from "./dispatcher.js";
export { asyncConfigBody, type AsyncConfigBody } from "./config.js";
export { ASYNC_DEFAULTS, ASYNC_LIMITS, type Resolver, type ResolvedTarget } from "./types.js";
