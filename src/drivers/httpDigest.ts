/**
 * HTTP Digest authentication (RFC 7616, compatible with RFC 2617) for the camera push receiver: Dahua and
 * Hikvision cameras log in with Digest MD5, qop=auth; SHA-256 is offered too, for clients that do it.
 *
 * Nonces are stateless: the issue time and random bytes, signed with an HMAC under a key made at start.
 * Any nonce the gate made within its lifetime is valid, without a table of issued nonces; an expired one
 * whose response is right is answered `stale=true`, so the camera retries with the new nonce without
 * asking anyone for a password. Replays are refused by the nonce count: per nonce in use, the highest
 * `nc` and which of the 64 below it were seen (out-of-order requests on parallel connections pass, a
 * repeated one does not). That table is bounded: entries go when their nonce expires, and when more nonces
 * are in use than it holds, the oldest entries go and every nonce issued up to the newest one dropped is
 * answered stale from then on, so a dropped entry can never let a replay through.
 *
 * Digest needs a password equivalent on the server: HA1 = H(username:realm:password), per algorithm,
 * made from the configured password at load (digestSecrets) and kept in memory only.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { sealPassword } from "../config/passwords.ts";
import type { DeviceCredentials, DigestSecrets } from "../config/types.ts";

export type DigestAlgorithm = "MD5" | "SHA-256";

/** The realm the receiver announces; HA1 depends on it, so it never changes. */
export const PUSH_REALM = "gate-edge push";
/** In order of the challenges: MD5 first, because that is what the cameras do (and clients take the first). */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ["MD5", "SHA-256"];
/** How long a nonce is valid: a camera pushing every few seconds needs one extra round trip per period. */
export const DEFAULT_NONCE_LIFETIME_MS = 5 * 60_000; // 5 min
/** Nonces in use whose counts are tracked at once (a gate has a few dozen cameras). */
const MAX_TRACKED_NONCES = 4096;
/** How far below the highest nc seen a request may come (parallel connections reorder). */
const NC_WINDOW = 64;

function hash(algorithm: DigestAlgorithm, text: string): string {
    return createHash(algorithm === "MD5" ? "md5" : "sha256")
        .update(text, "utf8")
        .digest("hex");
}

/** HA1 = H(username:realm:password), hex. */
export function digestHa1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
    return hash(algorithm, `${username}:${realm}:${password}`);
}

/** HA1 per algorithm for the push realm: what the receiver needs of a camera's password for Digest. */
export function digestSecrets(username: string, password: string): DigestSecrets {
    return {
        MD5: digestHa1("MD5", username, PUSH_REALM, password),
        "SHA-256": digestHa1("SHA-256", username, PUSH_REALM, password),
    };
}

/**
 * A push camera's credentials as the receiver keeps them: the sealed password (Basic, accepted only with
 * `basic`) and HA1 per algorithm (Digest) as a non-enumerable property, so no log or JSON dump carries it.
 */
export function pushCameraCredentials(username: string, password: string, basic = false): DeviceCredentials {
    const credentials: DeviceCredentials = {
        username,
        passwordHash: sealPassword(password),
        ...(basic && { basic: true }),
    };
    Object.defineProperty(credentials, "digest", {
        value: Object.freeze(digestSecrets(username, password)),
        enumerable: false,
    });
    return credentials;
}

/** The client's response for one request (RFC 7616 §3.4.1, qop=auth). Exported for clients (the simulator, tests). */
export function digestResponse(p: {
    algorithm: DigestAlgorithm;
    ha1: string;
    nonce: string;
    nc: string;
    cnonce: string;
    qop: string;
    method: string;
    uri: string;
}): string {
    const ha2 = hash(p.algorithm, `${p.method}:${p.uri}`);
    return hash(p.algorithm, `${p.ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
}

/** Parameters of a `Digest` Authorization header or WWW-Authenticate challenge; undefined when malformed. */
export function parseDigestParams(header: string): Map<string, string> | undefined {
    const m = /^Digest\s+/i.exec(header);
    if (!m) return undefined;
    const params = new Map<string, string>();
    let rest = header.slice(m[0].length);
    while (rest.length > 0) {
        const name = /^\s*([A-Za-z0-9_-]+)\s*=\s*/.exec(rest);
        if (!name?.[1]) return undefined;
        rest = rest.slice(name[0].length);
        let value: string;
        if (rest.startsWith('"')) {
            const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
            if (!quoted) return undefined;
            value = (quoted[1] ?? "").replace(/\\(.)/g, "$1");
            rest = rest.slice(quoted[0].length);
        } else {
            const token = /^[^\s,"]+/.exec(rest);
            if (!token) return undefined;
            value = token[0];
            rest = rest.slice(token[0].length);
        }
        const key = name[1].toLowerCase();
        if (params.has(key)) return undefined;
        params.set(key, value);
        const comma = /^\s*(?:,\s*|$)/.exec(rest);
        if (!comma) return undefined;
        rest = rest.slice(comma[0].length);
    }
    return params;
}

/** A Digest Authorization header, checked for form only (the receiver checks what it claims). */
export interface DigestCredentials {
    username: string;
    realm: string;
    nonce: string;
    uri: string;
    response: string;
    algorithm: DigestAlgorithm;
    qop: string;
    /** 8 hex digits, as sent (it is part of the response). */
    nc: string;
    cnonce: string;
}

/** The credentials of a Digest header; a reason string when the header is Digest but unusable. */
export function parseDigestAuthorization(header: string): DigestCredentials | string {
    const params = parseDigestParams(header);
    if (!params) return "malformed Digest header";
    const get = (key: string) => params.get(key);
    const username = get("username");
    const realm = get("realm");
    const nonce = get("nonce");
    const uri = get("uri");
    const response = get("response");
    if (username === undefined || realm === undefined || nonce === undefined || uri === undefined || !response)
        return "Digest header lacks username, realm, nonce, uri or response";
    const algorithmText = get("algorithm") ?? "MD5";
    const algorithm = DIGEST_ALGORITHMS.find((a) => a.toLowerCase() === algorithmText.toLowerCase());
    if (!algorithm) return `Digest algorithm ${algorithmText.slice(0, 32)} is not offered`;
    const qop = get("qop");
    // Without qop there is no nonce count, so nothing to refuse a replay by: RFC 2069 clients are not served.
    if (qop?.toLowerCase() !== "auth") return "Digest qop must be auth";
    const nc = get("nc");
    const cnonce = get("cnonce");
    if (nc === undefined || !/^[0-9a-fA-F]{8}$/.test(nc) || !cnonce) return "Digest header lacks a valid nc or cnonce";
    return { username, realm, nonce, uri, response, algorithm, qop, nc, cnonce };
}

/** What a nonce told about itself. */
export type NonceCheck = "fresh" | "stale" | "replayed" | "forged";

interface NonceUse {
    issuedAt: number;
    highest: number;
    /** nc values seen within NC_WINDOW below `highest` (and `highest` itself). */
    seen: Set<number>;
}

/**
 * Issues and checks the receiver's nonces. Error rules: never throws; every nonce, however made up, gets
 * a verdict.
 */
export class DigestNonces {
    private readonly key = randomBytes(32);
    private readonly uses = new Map<string, NonceUse>();
    /** Nonces issued at or before this time and not tracked are answered stale (their entry was dropped). */
    private droppedUpTo = Number.NEGATIVE_INFINITY;

    constructor(
        private readonly lifetimeMs: number = DEFAULT_NONCE_LIFETIME_MS,
        private readonly now: () => number = Date.now,
    ) {}

    /** A new nonce: 12 hex digits of issue time, 16 of random, 32 of HMAC over both. */
    issue(): string {
        const body = `${Math.floor(this.now()).toString(16).padStart(12, "0")}${randomBytes(8).toString("hex")}`;
        return `${body}${this.sign(body)}`;
    }

    /** Checks a nonce and its count, and records the count if the nonce is fresh and the count unseen. */
    use(nonce: string, ncHex: string): NonceCheck {
        if (!/^[0-9a-f]{60}$/.test(nonce)) return "forged";
        const body = nonce.slice(0, 28);
        if (!timingSafeEqual(Buffer.from(this.sign(body), "hex"), Buffer.from(nonce.slice(28), "hex"))) return "forged";
        const issuedAt = Number.parseInt(body.slice(0, 12), 16);
        const now = this.now();
        // A nonce from the future was made under a clock since stepped back: as good as expired.
        if (issuedAt > now || now - issuedAt >= this.lifetimeMs) {
            this.uses.delete(nonce);
            return "stale";
        }
        const nc = Number.parseInt(ncHex, 16);
        let use = this.uses.get(nonce);
        if (!use) {
            if (issuedAt <= this.droppedUpTo) return "stale";
            use = { issuedAt, highest: 0, seen: new Set() };
            this.track(nonce, use, now);
        }
        if (nc === 0 || use.seen.has(nc) || nc <= use.highest - NC_WINDOW) return "replayed";
        use.seen.add(nc);
        if (nc > use.highest) {
            use.highest = nc;
            for (const old of use.seen) if (old <= nc - NC_WINDOW) use.seen.delete(old);
        }
        return "fresh";
    }

    /** Nonces whose counts are tracked (tests of the bound). */
    get tracked(): number {
        return this.uses.size;
    }

    private track(nonce: string, use: NonceUse, now: number): void {
        if (this.uses.size >= MAX_TRACKED_NONCES) {
            for (const [key, entry] of this.uses) {
                if (now - entry.issuedAt >= this.lifetimeMs) this.uses.delete(key);
            }
        }
        while (this.uses.size >= MAX_TRACKED_NONCES) {
            const [oldest, entry] = this.uses.entries().next().value as [string, NonceUse];
            this.uses.delete(oldest);
            this.droppedUpTo = Math.max(this.droppedUpTo, entry.issuedAt);
        }
        this.uses.set(nonce, use);
    }

    private sign(body: string): string {
        return createHmac("sha256", this.key).update(body).digest("hex").slice(0, 32);
    }
}

/** The WWW-Authenticate values of a 401: one Digest challenge per algorithm, then Basic where accepted. */
export function challenges(nonce: string, stale: boolean, basic: boolean): string[] {
    const digest = DIGEST_ALGORITHMS.map(
        (algorithm) =>
            `Digest realm="${PUSH_REALM}", qop="auth", algorithm=${algorithm}, nonce="${nonce}"${stale ? ", stale=true" : ""}, charset=UTF-8`,
    );
    return basic ? [...digest, `Basic realm="${PUSH_REALM}", charset="UTF-8"`] : digest;
}

/** Constant-time comparison of two hex responses (lower case: clients may send either). */
export function responsesEqual(expected: string, actual: string): boolean {
    const a = Buffer.from(expected.toLowerCase(), "utf8");
    const b = Buffer.from(actual.toLowerCase(), "utf8");
    return a.length === b.length && timingSafeEqual(a, b);
}
