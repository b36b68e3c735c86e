import { describe } from "vitest";
import { openAsyncStore } from "../../src/store/async.js";
import { openDependencyStore } from "../../src/store/dependencies.js";
import { openStore } from "../../src/store/index.js";
import { openTriggerStore } from "../../src/store/triggers.js";
import { dropSchema, postgresReachable, schemaUrl, uniqueSchema } from "./pg-helpers.js";
import { storeContract } from "./store-contract.js";

const reachable = await postgresReachable();

describe.skipIf(!reachable)("store contract: postgres", () => {
  storeContract(async () => {
    const schema = uniqueSchema("t_store");
    const url = schemaUrl(schema);
    return {
      open: async () => {
        const store = await openStore(url);
        const triggers = openTriggerStore(url);
        const dependencies = openDependencyStore(url);
        const queue = await openAsyncStore(url);
        return {
          store,
          triggers,
          dependencies,
          queue,
          close: async () => {
            await queue.close();
            await dependencies.close();
            await triggers.close();
            await store.close();
          },
        };
      },
      destroy: () => dropSchema(schema),
    };
  });
});
