import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { TriggerStore } from "../store/trigger-types.js";
import { apigKinds, createApigSource, createRouteTable } from "./apig/index.js";
import { ctsKind } from "./cts/index.js";
import { ddsKinds } from "./dds/index.js";
import { createDisSource, createNatsLink, disKind } from "./dis/index.js";
import { kafkaKinds } from "./kafka/index.js";
import { ltsKind } from "./lts/index.js";
import { obsKind } from "./obs/index.js";
import { createRabbitSource, rabbitKind } from "./rabbitmq/index.js";
import { smnKind } from "./smn/index.js";
import { createTimerSource, timerKind } from "./timer/index.js";
import type { Delivery, TriggerKind, TriggerSource, TriggerType } from "./types.js";

export interface TriggerRegistryDeps {
  store: TriggerStore;
  delivery: Delivery;
  clock: Clock;
  logger: Logger;
  region: string;
  /** NATS server whose JetStream streams are the DIS streams. */
  natsUrl: string;
  /** The gateway's base URL (for `invoke_url`), known once it listens. */
  gatewayEndpoint: () => string;
}

/** Every trigger type this installation knows, in one place. Add a type here (one line). */
export function createTriggerRegistry(deps: TriggerRegistryDeps) {
  const log = (type: string): Logger => deps.logger.child({ trigger: type });
  const routes = createRouteTable();
  const link = createNatsLink(deps.natsUrl, log("nats"));

  const timer = createTimerSource({ ...deps, logger: log("TIMER") });
  const apig = createApigSource(routes);
  const rabbit = createRabbitSource({ ...deps, logger: log("RABBITMQ") });
  const dis = createDisSource({ link, delivery: deps.delivery, logger: log("DIS") });

  const kinds: TriggerKind[] = [
    timerKind(timer),
    ...apigKinds(apig, deps.gatewayEndpoint),
    rabbitKind(rabbit),
    disKind(dis, link),
    ...kafkaKinds(),
    obsKind(),
    smnKind(),
    ltsKind(),
    ctsKind(),
    ...ddsKinds(),
  ];
  const sources: TriggerSource[] = [timer, apig, rabbit, dis];

  return {
    kinds: new Map<string, TriggerKind>(kinds.map((k) => [k.type, k])),
    /** The gateway's route table (APIG, DEDICATEDGATEWAY, APIC). */
    routes,
    close: async (): Promise<void> => {
      for (const s of sources) await s.close();
      await link.close();
    },
  };
}

export type TriggerRegistry = ReturnType<typeof createTriggerRegistry>;
export type { TriggerType };
