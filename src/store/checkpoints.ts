import { chainHash, GENESIS_HASH } from "../core/canonical.ts";
import { type EventRow, hashedPart, rowToEvent } from "./eventLog.ts";

/** The event type of a pruning checkpoint: an event of the chain itself, never pruned. */
export const CHECKPOINT_TYPE = "store.checkpoint";

/** A run of consecutive seqs a checkpoint removes (rows already gone inside it were removed earlier). */
export interface PrunedSegment {
    firstSeq: number;
    lastSeq: number;
    /** Rows this checkpoint removes in the segment. */
    count: number;
    /** Hash of the event at lastSeq: the next present event's prevHash must be this. */
    lastHash: string;
}

/** Central's answers that cover a pruned range: the business acknowledgements the uplink recorded. */
export interface RangeAcknowledgement {
    /** Batches central answered (accepted or duplicate) that held events of the range. */
    batches: number;
    firstAt?: string;
    lastAt?: string;
    /** SHA-256 over the digests of those answers, in order: ties the checkpoint to what central said. */
    digest?: string;
}

/** The data of a `store.checkpoint` event. */
export interface CheckpointData {
    /** The range announced: everything in it except kept rows (checkpoints) is removed. */
    firstSeq: number;
    lastSeq: number;
    count: number;
    /** Hash of the last event removed. */
    lastHash: string;
    segments: PrunedSegment[];
    /** Events recorded before this instant (and accepted by central) were eligible. */
    olderThan: string;
    retentionDays: number;
    acknowledgement: RangeAcknowledgement;
    /** The archive exported before pruning (storage.archiveDir), if any. */
    archive?: { file: string; sha256: string };
}

/** A checkpoint as the chain holds it: its own seq and when it was recorded, with its data. */
export interface Checkpoint {
    seq: number;
    recordedAt: string;
    data: CheckpointData;
}

/** A present row as the planner sees it: whether it may be removed (accepted by central, old enough). */
export interface PruneCandidate {
    seq: number;
    hash: string;
    removable: boolean;
}

/**
 * Splits candidate rows (seq order, the present rows of a range) into the segments a checkpoint announces:
 * maximal runs of removable rows, broken by every row that must stay. A segment starts where the first
 * removable row is and ends at the last removable row before a kept one, so the kept (or next present)
 * row's prevHash is the segment's lastHash. Rows after the last removable one are not part of the plan.
 */
export function planSegments(rows: readonly PruneCandidate[]): PrunedSegment[] {
    const segments: PrunedSegment[] = [];
    let current: PrunedSegment | undefined;
    for (const row of rows) {
        if (!row.removable) {
            current = undefined;
            continue;
        }
        if (current === undefined) {
            current = { firstSeq: row.seq, lastSeq: row.seq, count: 0, lastHash: row.hash };
            segments.push(current);
        }
        current.lastSeq = row.seq;
        current.lastHash = row.hash;
        current.count++;
    }
    return segments;
}

/** What a chain walk found about pruning: every checkpoint it crossed, and a deletion still in progress. */
export interface ContinuityReport {
    checkpoints: Checkpoint[];
    /** Rows absent below the head, all accounted for by checkpoints. */
    pruned: number;
    /** A checkpoint whose removals had not all run when the walk began (a stop or crash midway). */
    inProgress?: number;
}

/** Reads a checkpoint event's data; undefined when it is not one this release can read. */
export function checkpointOf(row: Pick<EventRow, "seq" | "type" | "data" | "recorded_at">): Checkpoint | undefined {
    if (row.type !== CHECKPOINT_TYPE) return undefined;
    let data: unknown;
    try {
        data = JSON.parse(row.data);
    } catch {
        return undefined;
    }
    const candidate = data as Partial<CheckpointData>;
    if (
        typeof candidate.firstSeq !== "number" ||
        typeof candidate.lastSeq !== "number" ||
        !Array.isArray(candidate.segments)
    )
        return undefined;
    return { seq: row.seq, recordedAt: row.recorded_at, data: data as CheckpointData };
}

/**
 * Walks a hash chain row by row (seq order) and proves it continuous across pruning: a gap in seq is
 * allowed only where checkpoints of the same chain (given up front, so gaps before them can be judged; each
 * is also checked as a row of the walk) announced the missing seqs, and the row after a gap must link to
 * the hash the checkpoint stated for the event before it. A row inside an announced segment whose
 * predecessor is gone is a deletion that stopped midway: the segment's own rows still link up to its
 * lastHash, which is checked when the walk reaches it. Rows after a pruned prefix start from the stated
 * hash; an unpruned chain starts from the genesis hash.
 */
export class ChainWalker {
    private readonly segments: PrunedSegment[];
    private readonly bySeq = new Map<number, Checkpoint>();
    private readonly segmentEnd = new Map<number, PrunedSegment>();
    private expectedSeq: number | undefined;
    private prevHash = GENESIS_HASH;
    private readonly seen = new Set<number>();
    private inProgress: number | undefined;
    count = 0;
    headSeq = 0;

    constructor(
        checkpoints: readonly Checkpoint[],
        private readonly options: { startsAt?: number } = {},
    ) {
        for (const checkpoint of checkpoints) this.bySeq.set(checkpoint.seq, checkpoint);
        this.segments = checkpoints
            .flatMap((checkpoint) => checkpoint.data.segments)
            .sort((a, b) => a.firstSeq - b.firstSeq);
        for (const segment of this.segments) this.segmentEnd.set(segment.lastSeq, segment);
    }

    private covered(fromSeq: number, toSeq: number): boolean {
        let next = fromSeq;
        for (const segment of this.segments) {
            if (segment.firstSeq > next) break;
            if (segment.lastSeq >= next) next = segment.lastSeq + 1;
            if (next > toSeq) return true;
        }
        return next > toSeq;
    }

    private segmentHolding(seq: number): PrunedSegment | undefined {
        return this.segments.find((segment) => segment.firstSeq <= seq && seq <= segment.lastSeq);
    }

    /** Checks the next row; the reason it breaks the chain, or undefined. */
    accept(row: EventRow): string | undefined {
        const first = this.expectedSeq === undefined;
        const from = this.expectedSeq ?? this.options.startsAt ?? 1;
        if (!first && row.seq < from) return `seq goes back from ${from - 1} to ${row.seq}`;
        if (row.seq > from) {
            // Seqs from..row.seq-1 are missing: only announced ones may be.
            if (!this.covered(from, row.seq - 1)) {
                return first
                    ? `events before seq ${row.seq} are missing and no checkpoint accounts for them`
                    : `seq jumps from ${from - 1} to ${row.seq} and no checkpoint accounts for the gap`;
            }
            const before = this.segmentEnd.get(row.seq - 1);
            if (before) {
                if (row.prev_hash !== before.lastHash)
                    return `prevHash ${row.prev_hash.slice(0, 12)}… is not the hash the checkpoint states for event ${row.seq - 1}`;
            } else if (this.segmentHolding(row.seq)) {
                // A checkpoint's removals stopped midway: from here its rows still link to its stated lastHash.
                this.inProgress = this.checkpointHolding(row.seq);
            } else {
                return `event ${row.seq - 1} was pruned but no checkpoint states its hash`;
            }
        } else if (first && row.seq === 1 && row.prev_hash !== GENESIS_HASH) {
            return "the first event does not start from the genesis hash";
        } else if (!first && row.prev_hash !== this.prevHash) {
            return `prevHash ${row.prev_hash.slice(0, 12)}… does not match the hash of event ${row.seq - 1}`;
        }
        let event: ReturnType<typeof rowToEvent>;
        try {
            event = rowToEvent(row);
        } catch {
            return "data is not valid JSON";
        }
        if (chainHash(row.prev_hash, hashedPart(event)) !== row.hash) return "hash does not match the event's content";
        const endOf = this.segmentEnd.get(row.seq);
        if (endOf && endOf.lastHash !== row.hash)
            return `hash of event ${row.seq} is not the hash a checkpoint states for it`;
        if (row.type === CHECKPOINT_TYPE) {
            if (!this.bySeq.has(row.seq))
                return "a checkpoint the walk was not told of (checkpoints table out of step)";
            this.seen.add(row.seq);
        }
        this.prevHash = row.hash;
        this.expectedSeq = row.seq + 1;
        this.count++;
        this.headSeq = row.seq;
        return undefined;
    }

    private checkpointHolding(seq: number): number | undefined {
        for (const checkpoint of this.bySeq.values()) {
            if (checkpoint.data.segments.some((segment) => segment.firstSeq <= seq && seq <= segment.lastSeq))
                return checkpoint.seq;
        }
        return undefined;
    }

    /** After the last row: the reason the walk is incomplete (a checkpoint never met), or the report. */
    finish(): { broken: string } | { report: ContinuityReport } {
        const firstSeq = this.options.startsAt ?? 1;
        for (const seq of this.bySeq.keys()) {
            if (seq >= firstSeq && seq <= this.headSeq && !this.seen.has(seq))
                return { broken: `checkpoint at seq ${seq} is not in the chain` };
        }
        const checkpoints = [...this.bySeq.values()]
            .filter((checkpoint) => this.seen.has(checkpoint.seq) || checkpoint.seq < firstSeq)
            .sort((a, b) => a.seq - b.seq);
        return {
            report: {
                checkpoints,
                pruned: this.headSeq === 0 ? 0 : this.headSeq - firstSeq + 1 - this.count,
                ...(this.inProgress !== undefined && { inProgress: this.inProgress }),
            },
        };
    }
}

/** What was pruned, when and under which acknowledgement: one line per checkpoint, for a person. */
export function checkpointLines(checkpoints: readonly Checkpoint[]): string[] {
    return checkpoints.map(({ seq, recordedAt, data }) => {
        const ack = data.acknowledgement;
        const acknowledged =
            ack.batches > 0
                ? `central acknowledged it in ${ack.batches} answer(s) ${ack.firstAt} … ${ack.lastAt} (digest ${ack.digest?.slice(0, 16)}…)`
                : "accepted by central before acknowledgements were recorded";
        const archive = data.archive
            ? `; archived to ${data.archive.file} (sha256 ${data.archive.sha256.slice(0, 16)}…)`
            : "";
        return (
            `checkpoint seq ${seq} at ${recordedAt}: pruned ${data.count} event(s) of seq ${data.firstSeq}..${data.lastSeq} ` +
            `recorded before ${data.olderThan} (retention ${data.retentionDays} d), last hash ${data.lastHash.slice(0, 16)}…; ${acknowledged}${archive}`
        );
    });
}
