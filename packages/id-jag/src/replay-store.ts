/**
 * The replay store moved to `@bearerkit/core`, where every stateful feature shares it (ID-JAG,
 * DPoP proofs, signed introspection answers) and `@bearerkit/redis` implements it for a fleet.
 * These re-exports keep existing imports working.
 */
import {
  createMemoryReplayStore as coreCreateMemoryReplayStore,
  type MemoryReplayStoreOptions as CoreMemoryReplayStoreOptions,
  type ReplayStore as CoreReplayStore,
} from '@bearerkit/core'

/** @deprecated Import `ReplayStore` from `@bearerkit/core`. */
export type ReplayStore = CoreReplayStore

/** @deprecated Import `MemoryReplayStoreOptions` from `@bearerkit/core`. */
export type MemoryReplayStoreOptions = CoreMemoryReplayStoreOptions

/** @deprecated Import `createMemoryReplayStore` from `@bearerkit/core`. */
export const createMemoryReplayStore = coreCreateMemoryReplayStore
