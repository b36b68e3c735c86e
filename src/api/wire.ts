import type { FunctionRecord, FunctionVersion } from "../core/types.js";
import { toFunctionUrn, toQualifiedUrn } from "../core/urn.js";
import { cpuMillicores } from "../invoker/function-env.js";
import { toDependList, toDependencyVersionModel } from "./dependency-wire.js";

/** Context the wire mapping needs besides the records themselves. */
export interface WireContext {
  region: string;
  domainId: string;
}

/** ISO-8601 with offset, as the contract recommends: 2026-11-28T17:47:42+00:00 */
export function toWireTime(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, "+00:00").replace(/Z$/, "+00:00");
}

const maskValues = (o: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.keys(o).map((k) => [k, ""]));

function imageName(v: FunctionVersion): string {
  const stamp = v.lastModified.replace(/[-:T]/g, "").slice(2, 14);
  return `${v.version}-${stamp}@${v.codeDigest.slice(0, 5)}`;
}

/** The function model of contract §1.2 for one version. */
export function toFunctionModel(
  fn: FunctionRecord,
  v: FunctionVersion,
  ctx: WireContext,
): Record<string, unknown> {
  const ref = { region: ctx.region, projectId: fn.projectId, package: fn.package, name: fn.name };
  return {
    ...v.extra,
    func_id: fn.id,
    resource_id: `${fn.id}:${fn.name}`,
    func_urn: toQualifiedUrn(ref, v.version),
    func_name: fn.name,
    domain_id: ctx.domainId,
    namespace: fn.projectId,
    project_name: ctx.region,
    package: fn.package,
    runtime: fn.runtime,
    timeout: v.timeout,
    handler: v.handler,
    memory_size: v.memorySize,
    cpu: cpuMillicores(v.memorySize),
    code_type: v.codeType,
    code_url: v.codeUrl,
    code_filename: v.codeFilename,
    code_size: v.codeSize,
    user_data: JSON.stringify(v.userData),
    encrypted_user_data: JSON.stringify(maskValues(v.encryptedUserData)),
    digest: v.codeDigest,
    version: v.version,
    image_name: imageName(v),
    description: v.description,
    version_description: v.versionDescription,
    last_modified: toWireTime(v.lastModified),
    strategy_config: {
      concurrency: v.strategy.concurrency,
      concurrent_num: v.strategy.concurrentNum,
    },
    initializer_handler: v.initializerHandler,
    initializer_timeout: v.initializerTimeout,
    pre_stop_handler: v.preStopHandler,
    pre_stop_timeout: v.preStopTimeout,
    ephemeral_storage: v.ephemeralStorage,
    depend_version_list: v.dependVersionList,
    depend_list: toDependList(v.dependencies),
    dependencies: (v.dependencies ?? []).map(toDependencyVersionModel),
    type: "v2",
    long_time: v.timeout > 900,
    fail_count: 0,
  };
}

/** ShowFunctionCode / UpdateFunctionCode response (contract §1.4.4). */
export function toCodeModel(
  fn: FunctionRecord,
  v: FunctionVersion,
  ctx: WireContext,
): Record<string, unknown> {
  return {
    func_urn: toQualifiedUrn(
      { region: ctx.region, projectId: fn.projectId, package: fn.package, name: fn.name },
      v.version,
    ),
    func_name: fn.name,
    domain_id: ctx.domainId,
    runtime: fn.runtime,
    code_type: v.codeType,
    code_url: v.codeUrl,
    code_filename: v.codeFilename,
    code_size: v.codeSize,
    digest: v.codeDigest,
    last_modified: toWireTime(v.lastModified),
    func_code: { file: "", link: "" },
    depend_list: toDependList(v.dependencies),
    depend_version_list: v.dependVersionList,
    strategy_config: {
      concurrency: v.strategy.concurrency,
      concurrent_num: v.strategy.concurrentNum,
    },
    dependencies: (v.dependencies ?? []).map(toDependencyVersionModel),
  };
}

/** List item: the model minus VPC/mount objects, with the 7-field URN for latest. */
export function toListItem(
  fn: FunctionRecord,
  v: FunctionVersion,
  ctx: WireContext,
): Record<string, unknown> {
  const m = toFunctionModel(fn, v, ctx);
  delete m["func_vpc"];
  delete m["mount_config"];
  m["func_urn"] = toFunctionUrn({
    region: ctx.region,
    projectId: fn.projectId,
    package: fn.package,
    name: fn.name,
  });
  m["func_vpc_id"] = "";
  m["bind_bridge_funcUrns"] = [];
  return m;
}
