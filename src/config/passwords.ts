import { randomBytes, scrypt, scryptSync, timingSafeEqual } from "node:crypto";

const KEY_LENGTH = 32;

/** scrypt with a random salt; the result is safe to keep in memory and in logs. */
export function hashPassword(password: string): string {
    const salt = randomBytes(16);
    const hash = scryptSync(password, salt, KEY_LENGTH);
    return `scrypt$${salt.toString("hex")}$${hash.toString("hex")}`;
}

/** Constant-time check of a password against a hash from hashPassword. False for any malformed hash. */
export function verifyPassword(password: string | Buffer, stored: string): boolean {
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
