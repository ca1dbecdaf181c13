import type { SubgraphDefinition } from "../../src/graphql/subgraph.js";
import { AccessResolver } from "./access.resolver.js";
import { verificationAccounts } from "./account.projection.js";
import { AuditResolver } from "./audit.resolver.js";
import { CertificationResolver } from "./certification.resolver.js";
import { DisclosureResolver } from "./disclosure.resolver.js";
import { ExemptionResolver } from "./exemption.resolver.js";
import { verificationMigrations } from "./migrations/index.js";
import { RetentionResolver } from "./retention.resolver.js";
import { purgeEveryProvider } from "./retention.service.js";
import { recordReferences } from "./record.reference.js";
import { AccountVerificationResolver, RecordResolver } from "./record.resolver.js";
import { AccountRef } from "./record.type.js";

/**
 * Customer identification records (EO 13984 §1): the provider's own, sealed, audited, and released
 * to an agency only through a disclosure the provider approved.
 */
export const verificationSubgraph: SubgraphDefinition = {
  name: "verification",
  entities: [],
  resolvers: [AuditResolver, RecordResolver, AccountVerificationResolver, DisclosureResolver, RetentionResolver, AccessResolver, ExemptionResolver, CertificationResolver],
  // Account is reached by no query of this subgraph, only through `_entities`.
  orphanedTypes: [AccountRef],
  references: recordReferences,
  migrations: { schema: "verification", migrations: verificationMigrations },
  projections: [verificationAccounts],
  // The hourly timer purges every provider's records past retention (each provider can also ask now).
  async prune(em, hub) {
    const { purged, accessEventsPurged } = await purgeEveryProvider(em, hub.clock());
    return { records: purged, accessEvents: accessEventsPurged };
  },
};
