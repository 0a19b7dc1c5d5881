import { createHmac, randomBytes, scrypt, scryptSync, timingSafeEqual } from "node:crypto";

const KEY_LENGTH = 32;

/** Never leaves the process: what sealPassword() made is worthless outside it. */
const sealKey = randomBytes(KEY_LENGTH);

const sealed = (password: string | Buffer): Buffer => createHmac("sha256", sealKey).update(password).digest();

/**
 * A device password read from the configuration, kept in memory as an HMAC under a key made at start,
 * not as scrypt: the configuration holds the password anyway, so scrypt would protect nothing more, and
 * at ~50 ms a device it would put seconds into every restart of a gate with dozens of devices. Like a
 * scrypt hash, the result is safe to keep in memory and in logs; verifyPassword() checks both.
 */
export function sealPassword(password: string): string {
    return `hmac$${sealed(password).toString("hex")}`;
}

/** Checks a password against sealPassword()'s form; undefined when `stored` is not of that form. */
function verifySealed(password: string | Buffer, stored: string): boolean | undefined {
    const [scheme, hex, extra] = stored.split("$");
    if (scheme !== "hmac") return undefined;
    const expected = Buffer.from(hex ?? "", "hex");
    return extra === undefined && expected.length === KEY_LENGTH && timingSafeEqual(sealed(password), expected);
}

/** scrypt with a random salt, for passwords that are stored (officers'); safe to keep in memory and in logs. */
export function hashPassword(password: string): string {
    const salt = randomBytes(16);
    const hash = scryptSync(password, salt, KEY_LENGTH);
    return `scrypt$${salt.toString("hex")}$${hash.toString("hex")}`;
}

/** Constant-time check of a password against hashPassword() or sealPassword(). False for any malformed hash. */
export function verifyPassword(password: string | Buffer, stored: string): boolean {
    const sealedOk = verifySealed(password, stored);
    if (sealedOk !== undefined) return sealedOk;
    const [scheme, saltHex, hashHex] = stored.split("$");
    if (scheme !== "scrypt" || !saltHex || !hashHex) return false;
    const expected = Buffer.from(hashHex, "hex");
    const actual = scryptSync(password, Buffer.from(saltHex, "hex"), expected.length);
    return expected.length === KEY_LENGTH && timingSafeEqual(actual, expected);
}

/**
 * The same check off the event loop (libuv's thread pool): a login must not stall the ingest of every
 * other device for the ~50 ms scrypt takes.
 */
export function verifyPasswordAsync(password: string | Buffer, stored: string): Promise<boolean> {
    const sealedOk = verifySealed(password, stored);
    if (sealedOk !== undefined) return Promise.resolve(sealedOk);
    const [scheme, saltHex, hashHex] = stored.split("$");
    if (scheme !== "scrypt" || !saltHex || !hashHex) return Promise.resolve(false);
    const expected = Buffer.from(hashHex, "hex");
    if (expected.length !== KEY_LENGTH) return Promise.resolve(false);
    return new Promise((resolve) =>
        scrypt(password, Buffer.from(saltHex, "hex"), KEY_LENGTH, (err, actual) =>
            resolve(!err && timingSafeEqual(actual, expected)),
        ),
    );
}

/** hashPassword off the event loop, for passwords set through the API while the gate runs. */
export function hashPasswordAsync(password: string): Promise<string> {
    const salt = randomBytes(16);
    return new Promise((resolve, reject) =>
        scrypt(password, salt, KEY_LENGTH, (err, hash) =>
            err ? reject(err) : resolve(`scrypt$${salt.toString("hex")}$${hash.toString("hex")}`),
        ),
    );
}
