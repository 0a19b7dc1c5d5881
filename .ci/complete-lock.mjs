// The npm registry reachable here serves only the platform packages this machine can run, so the lock
// npm writes lacks the other platforms' optional binaries (biome, rollup) and `npm ci` then refuses it as
// "out of sync". This adds those optional entries with their os/cpu/libc, so `npm ci` skips them here
// exactly as it would with a lock written elsewhere. Idempotent; versions come from the parents' pins.
import { readFileSync, writeFileSync } from "node:fs";

const file = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(file, "utf8"));
const packages = lock.packages;
const OS = ["android", "darwin", "win32", "freebsd", "openbsd", "openharmony", "linux", "sunos", "aix", "netbsd"];
const CPU = ["arm64", "x64", "ia32", "arm", "loong64", "ppc64", "riscv64", "s390x", "mips64el"];
let added = 0;
for (const [path, entry] of Object.entries(packages)) {
    for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
        const nested = `${path ? `${path}/` : ""}node_modules/${name}`;
        if (packages[nested] || packages[`node_modules/${name}`]) continue;
        if (!/^\d+\.\d+\.\d+/.test(range)) continue;
        const parts = name.split("/").pop().split("-");
        const os = parts.find((part) => OS.includes(part));
        const cpu =
            parts.find((part) => CPU.includes(part)) ??
            (parts.includes("eabi") || parts.includes("gnueabihf") || parts.includes("musleabihf") ? "arm" : undefined);
        if (!os || !cpu) continue;
        packages[`node_modules/${name}`] = {
            version: range,
            ...(entry.dev && { dev: true }),
            optional: true,
            os: [os],
            cpu: [cpu],
            ...(parts.some((part) => part.startsWith("musl")) && { libc: ["musl"] }),
        };
        added++;
    }
}
if (added > 0) {
    lock.packages = Object.fromEntries(
        Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)),
    );
    writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
}
console.log(`complete-lock: ${added} optional platform entr${added === 1 ? "y" : "ies"} added`);
