import { describe, expect, it } from "vitest";
import { openAsyncStore } from "../../src/store/async.js";
import { openDependencyStore } from "../../src/store/dependencies.js";
import { openStore } from "../../src/store/index.js";
import { openReservedStore } from "../../src/store/reserved.js";
import { openTriggerStore } from "../../src/store/triggers.js";
import { dropSchema, postgresReachable, schemaUrl, uniqueSchema } from "./pg-helpers.js";
import { fnRecord, fnVersion, storeContract } from "./store-contract.js";

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
        const reserved = openReservedStore(url);
        const queue = await openAsyncStore(url);
        return {
          store,
          triggers,
          dependencies,
          reserved,
          queue,
          close: async () => {
            await queue.close();
            await reserved.close();
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

describe.skipIf(!reachable)("postgres store: several nodes on one schema", () => {
  it("start together on a fresh schema (migrations once) and see each other's writes", async () => {
    const schema = uniqueSchema("t_nodes");
    const url = schemaUrl(schema);
    try {
      const nodes = await Promise.all([0, 1, 2].map(() => openStore(url)));
      try {
        const fn = fnRecord("p", "shared");
        expect(await nodes[0]!.createFunction(fn, fnVersion(fn.id))).toBe(true);
        expect(await nodes[1]!.getFunctionById(fn.id)).toEqual(fn);
        expect(await nodes[2]!.createFunction({ ...fn, id: "other" }, fnVersion("other"))).toBe(
          false,
        );
      } finally {
        await Promise.all(nodes.map((n) => n.close()));
      }
    } finally {
      await dropSchema(schema);
    }
  });
});
