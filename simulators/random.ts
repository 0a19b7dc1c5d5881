/**
 * Seedable randomness for the simulators: a technician or a test that passes the same seed sees the same
 * axle steps, oscillation and TCP chunk sizes, so a run that exposed a bug can be repeated.
 */

/** A random source returning numbers in [0, 1), like Math.random. */
export type Rng = () => number;

/**
 * mulberry32: tiny, fast and good enough for simulated noise (not for anything secret).
 * The same seed always yields the same sequence.
 */
export function seededRng(seed: number): Rng {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** An integer in [min, max], both included. */
export function randomInt(rng: Rng, min: number, max: number): number {
    return min + Math.floor(rng() * (max - min + 1));
}

/** `length` random bytes, e.g. line noise. */
export function randomBytes(rng: Rng, length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = Math.floor(rng() * 256);
    return bytes;
}
