import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ProjectUsage } from "../../invoker/invoker.js";
import { MAX_FUNCTIONS } from "../validate.js";

/** Total code per account, MB (contract §5, `fgs_func_code_size`). */
export const CODE_SIZE_QUOTA_MB = 10240;
/** Instances per tenant (contract §5). */
export const INSTANCE_QUOTA = 1000;

export interface QuotaRouteDeps {
  concurrencyQuota: number;
  keepAliveSeconds: number;
  usage(projectId: string): ProjectUsage;
  countFunctions(projectId: string): Promise<number>;
  /** Bytes of code of every version of the project. */
  totalCodeSize(projectId: string): Promise<number>;
}

interface Resource {
  quota: number;
  used: number;
  type: string;
  unit?: string;
}

/** ListQuotas, `GET /fgs/quotas` (contract §1.11), with live `used` figures. */
export function registerQuotaRoutes(app: FastifyInstance, deps: QuotaRouteDeps): void {
  app.get("/fgs/quotas", async (req: FastifyRequest) => {
    const projectId = (req.params as { project_id: string }).project_id;
    const usage = deps.usage(projectId);
    const [functions, codeBytes] = await Promise.all([
      deps.countFunctions(projectId),
      deps.totalCodeSize(projectId),
    ]);
    const resources: Resource[] = [
      // Seconds an idle instance is kept before scale-down (the keep-alive).
      { quota: deps.keepAliveSeconds, used: 0, type: "fgs_func_scale_down_timeout" },
      // Concurrent executions: calls admitted and not finished (running or queued).
      { quota: deps.concurrencyQuota, used: usage.concurrency, type: "fgs_func_occurs" },
      // UNCONFIRMED meaning; reported as the keep-alive of idle instances.
      { quota: deps.keepAliveSeconds, used: 0, type: "fgs_func_pat_idle_time" },
      { quota: MAX_FUNCTIONS, used: functions, type: "fgs_func_num" },
      {
        quota: CODE_SIZE_QUOTA_MB,
        used: Math.ceil(codeBytes / (1024 * 1024)),
        type: "fgs_func_code_size",
        unit: "MB",
      },
      { quota: 0, used: 0, type: "fgs_workflow_num" },
      { quota: INSTANCE_QUOTA, used: usage.instances, type: "fgs_on_demand_instance_limit" },
      // UNCONFIRMED meaning; reported as the concurrency quota and its live use.
      { quota: deps.concurrencyQuota, used: usage.concurrency, type: "fgs_func_qos_limit" },
    ];
    return { quotas: { resources } };
  });
}
