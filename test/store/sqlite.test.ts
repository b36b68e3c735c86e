import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe } from "vitest";
import { openDependencyStore } from "../../src/store/dependencies.js";
import { openStore } from "../../src/store/index.js";
import { createSqliteAsyncStore } from "../../src/store/sqlite/async-store.js";
import { openReservedStore } from "../../src/store/reserved.js";
import { openTriggerStore } from "../../src/store/triggers.js";
import { storeContract } from "./store-contract.js";

describe("store contract: sqlite", () => {
  storeContract(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "fngraph-store-"));
    const file = path.join(dir, "fngraph.db");
    const url = `sqlite:${file}`;
    return {
      open: async () => {
        const store = await openStore(url);
        const triggers = openTriggerStore(url);
        const dependencies = openDependencyStore(url);
        const reserved = openReservedStore(url);
        const queue = createSqliteAsyncStore(file);
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
      destroy: async () => rmSync(dir, { recursive: true, force: true }),
    };
  });
});
