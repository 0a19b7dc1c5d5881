import { monotonicFactory } from "ulid";
import type { Clock } from "./clock.ts";

/** ULIDs that sort in creation order even within one millisecond. */
export function createIdFactory(clock: Clock): () => string {
    const next = monotonicFactory();
    return () => next(clock.now());
}
