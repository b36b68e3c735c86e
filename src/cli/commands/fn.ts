import type { Command } from "commander";
import type { CliIo } from "../context.js";
import { registerDelete } from "./fn-delete.js";
import { registerDeploy } from "./fn-deploy.js";
import { registerGet } from "./fn-get.js";
import { registerList } from "./fn-list.js";

/** `fngraph fn …`: function lifecycle. */
export function registerFn(program: Command, io: CliIo): void {
  const fn = program.command("fn").description("manage functions: deploy, list, get, delete");
  registerDeploy(fn, io);
  registerList(fn, io);
  registerGet(fn, io);
  registerDelete(fn, io);
}
