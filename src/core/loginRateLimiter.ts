/**
 * Login rate limits: officers' logins to the API (src/api/auth.ts) and devices' logins to the embedded MQTT
 * broker and the camera push receiver.
 */

/** A login attempt holding its place in the limit while its password is checked. */
export interface LoginAttempt {
    /** The password was wrong (or the user unknown or disabled): the place stays, as a failure. */
    failed(): void;
    /** The login succeeded: its place is given back, and the name's earlier failures are cleared. */
    succeeded(): void;
}

/** One counted attempt; `settled` once its password check has failed. */
interface Slot {
    at: number;
    settled: boolean;
}

/**
 * Failed logins per user name and per client address in a sliding window. An attempt takes its place
 * (`reserve`) before its password is checked, synchronously, so however many requests arrive at once no
 * more than `maxFailures` of them are checked: the others are refused while the first are still in the
 * password check. In memory: a restart forgets the counts, which costs an attacker a gate restart per
 * five guesses. Bounded, so a flood of invented names cannot grow it without limit.
 */
export class LoginRateLimiter {
    private readonly slots = new Map<string, Slot[]>();
    private static readonly MAX_KEYS = 10_000;
    private static readonly RUNNING_WAIT_MS = 1000;

    constructor(
        private readonly maxFailures: number,
        private readonly windowMs: number,
        private readonly now: () => number,
    ) {}

    /**
     * Takes a place for a login of this name from this address, or, when the name or the address already
     * has `maxFailures` failed or running attempts in the window, says how many seconds until one leaves it
     * (1 s while some are still running: they may succeed and give their place back).
     */
    reserve(username: string, ip: string): { attempt: LoginAttempt } | { retryAfterS: number } {
        const now = this.now();
        const keys = [`user:${username}`, `ip:${ip}`];
        let waitMs = 0;
        for (const key of keys) {
            const recent = this.recent(key, now);
            if (recent.length < this.maxFailures) continue;
            const failures = recent.filter((slot) => slot.settled);
            const oldest = failures[failures.length - this.maxFailures];
            // Full only because checks are still running (officers logging in at once behind one address):
            // one of them ends within a second, success or failure.
            waitMs = Math.max(waitMs, oldest ? oldest.at + this.windowMs - now : LoginRateLimiter.RUNNING_WAIT_MS);
        }
        if (waitMs > 0) return { retryAfterS: Math.ceil(waitMs / 1000) };
        const slot: Slot = { at: now, settled: false };
        for (const key of keys) {
            const recent = this.recent(key, now);
            recent.push(slot);
            // Re-inserted: Map keeps insertion order, so the first keys are the least recently used.
            this.slots.delete(key);
            this.slots.set(key, recent);
        }
        while (this.slots.size > LoginRateLimiter.MAX_KEYS) {
            const first = this.slots.keys().next().value as string;
            this.slots.delete(first);
        }
        const [userKey, ipKey] = keys as [string, string];
        return {
            attempt: {
                failed: () => {
                    slot.settled = true;
                },
                // The address keeps its failures, or one valid account would reset them for every name
                // guessed from there; the name's running attempts stay counted until they end.
                succeeded: () => {
                    this.remove(ipKey, (s) => s === slot);
                    this.remove(userKey, (s) => s === slot || s.settled);
                },
            },
        };
    }

    private remove(key: string, which: (slot: Slot) => boolean): void {
        const list = this.slots.get(key);
        if (!list) return;
        const kept = list.filter((slot) => !which(slot));
        if (kept.length === 0) this.slots.delete(key);
        else this.slots.set(key, kept);
    }

    private recent(key: string, now: number): Slot[] {
        const list = (this.slots.get(key) ?? []).filter((slot) => slot.at > now - this.windowMs);
        if (list.length === 0) this.slots.delete(key);
        return list;
    }
}

/**
 * A device's login (MQTT, camera push) through a LoginRateLimiter keyed by device account and source address,
 * with one difference: the address a device last logged in from is exempt from its account's count (not from
 * the address's own), so a stranger guessing a lane device's password from elsewhere cannot keep the device
 * itself from reconnecting. Unknown user names count under their name, so they use up their address's limit.
 */
export class DeviceLoginLimiter {
    private readonly limiter: LoginRateLimiter;
    /** Per configured device: where it last logged in from (one entry per device, bounded by the config). */
    private readonly lastGoodAddress = new Map<string, string>();
    /** Logins refused without their password being checked, since start. */
    refused = 0;

    constructor(limit: { maxFailures: number; windowMinutes: number }, now: () => number = Date.now) {
        this.limiter = new LoginRateLimiter(limit.maxFailures, limit.windowMinutes * 60_000, now);
    }

    /**
     * Counts a login to `deviceId` (undefined: no such device; `username` counts instead) from `address` before
     * its password is checked: the attempt to report the outcome to, or undefined to refuse it unchecked.
     */
    begin(address: string, deviceId: string | undefined, username: string): LoginAttempt | undefined {
        const trusted = deviceId !== undefined && this.lastGoodAddress.get(deviceId) === address;
        const name = deviceId === undefined ? `unknown:${username}` : trusted ? `${deviceId}@${address}` : deviceId;
        const reserved = this.limiter.reserve(name, address);
        if ("retryAfterS" in reserved) {
            this.refused++;
            return undefined;
        }
        const { attempt } = reserved;
        return {
            failed: () => attempt.failed(),
            succeeded: () => {
                attempt.succeeded();
                if (deviceId !== undefined) this.lastGoodAddress.set(deviceId, address);
            },
        };
    }
}
