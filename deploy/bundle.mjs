// `npm run bundle [-- --out DIR]`: the release bundle a technician installs on a gate PC with
// deploy/install.sh — compiled JavaScript (dist/, no tsx), production dependencies only, the dashboard's
// files, the config schema and examples, the systemd unit and the install script, and BUNDLE.json naming
// the CPU and Node ABI its native modules (better-sqlite3, serialport) were built for. Built from this
// checkout's node_modules, pruned offline: a gate PC needs no registry and no compiler.
// An ARM64 gate needs a bundle made on an ARM64 machine (the native binaries are per CPU).
import { execFileSync } from "node:child_process";
import {
    chmodSync,
    cpSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    rmSync,
    statSync,
    writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const outDir = outIndex >= 0 ? args[outIndex + 1] : join(root, "bundle");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const name = `gate-edge-${pkg.version}`;
const run = (command, commandArgs, cwd = root) =>
    execFileSync(command, commandArgs, { cwd, stdio: ["ignore", "inherit", "inherit"] });

console.log("bundle: compiling to dist/");
rmSync(join(root, "dist"), { recursive: true, force: true });
run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"]);

const stage = mkdtempSync(join(tmpdir(), "gate-edge-bundle-"));
const top = join(stage, name);
mkdirSync(top);
const copy = (from, to = from, filter = undefined) =>
    cpSync(join(root, from), join(top, to), { recursive: true, ...(filter && { filter }) });
// The compiled machinery; the benchmarks (dist/test) need the development checkout.
for (const part of ["src", "devices", "simulators"])
    copy(`dist/${part}`, `dist/${part}`, (file) => !file.endsWith(".map"));
copy("src/ui"); // the dashboard: plain browser modules, served as they are
copy("src/i18n", "src/i18n", (file) => !file.endsWith(".ts")); // the message catalogues (src/i18n/format.ts reads them there)
for (const file of ["gate.schema.json", "example.yaml", "demo.yaml", "clearance-demo.yaml"]) copy(`config/${file}`);
copy("deploy/gate-edge.service");
copy("deploy/install.sh");
copy("README.md");
copy("package-lock.json");
mkdirSync(join(top, "bin"));
copy("deploy/gate-edge.js", "bin/gate-edge.js");
// /usr/local/bin/gate-edge links to it: it must be executable whatever the checkout's modes.
chmodSync(join(top, "bin/gate-edge.js"), 0o755);

// package.json without the development side: tsx runs the sources in a checkout, the bundle runs dist/.
const production = { ...pkg, scripts: {}, bin: { "gate-edge": "bin/gate-edge.js" } };
delete production.dependencies.tsx;
writeFileSync(join(top, "package.json"), `${JSON.stringify(production, null, 4)}\n`);

console.log("bundle: production dependencies (pruned offline from this checkout's node_modules)");
cpSync(join(root, "node_modules"), join(top, "node_modules"), { recursive: true, verbatimSymlinks: true });
run("npm", ["prune", "--omit=dev", "--offline", "--no-audit", "--no-fund", "--loglevel=error"], top);
// Build leftovers of the native modules (object files, sources) are not needed to run.
rmSync(join(top, "node_modules/better-sqlite3/build/Release/obj"), { recursive: true, force: true });
rmSync(join(top, "node_modules/better-sqlite3/build/Release/obj.target"), { recursive: true, force: true });
rmSync(join(top, "node_modules/better-sqlite3/deps"), { recursive: true, force: true });
rmSync(join(top, "node_modules/better-sqlite3/build/Release/test_extension.node"), { force: true });
for (const entry of readdirSync(join(top, "node_modules"))) {
    const dir = join(top, "node_modules", entry);
    if (entry.startsWith("@") && readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
}

/** The CPU an ELF shared object was built for (e_machine). */
function elfMachine(file) {
    const head = readFileSync(file).subarray(0, 20);
    if (head.readUInt32BE(0) !== 0x7f454c46) return "not ELF";
    const machine = head.readUInt16LE(18);
    return { 62: "x64", 183: "arm64", 40: "arm", 3: "ia32" }[machine] ?? `e_machine ${machine}`;
}
function nativeFiles(dir, found = []) {
    for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        const stat = statSync(path, { throwIfNoEntry: false });
        if (stat?.isDirectory()) nativeFiles(path, found);
        else if (entry.endsWith(".node")) found.push(path);
    }
    return found;
}
const native = nativeFiles(join(top, "node_modules")).map((file) => ({
    file: relative(top, file),
    machine: elfMachine(file),
}));
let commit = "unknown";
try {
    commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
} catch {
    // Not a git checkout: the version says enough.
}
const manifest = {
    name: pkg.name,
    version: pkg.version,
    commit,
    builtAt: new Date().toISOString(),
    platform: process.platform,
    arch: process.arch,
    node: process.version,
    nodeAbi: process.versions.modules,
    // better-sqlite3 is compiled for this CPU; serialport carries prebuilds for several, picked at run time.
    native,
};
writeFileSync(join(top, "BUNDLE.json"), `${JSON.stringify(manifest, null, 4)}\n`);

mkdirSync(outDir, { recursive: true });
const tarball = join(outDir, `${name}-${process.platform}-${process.arch}.tar.gz`);
rmSync(tarball, { force: true });
run("tar", ["-czf", tarball, "-C", stage, name]);
rmSync(stage, { recursive: true, force: true });
const mib = (statSync(tarball).size / 1024 / 1024).toFixed(1);
console.log(
    `bundle: ${tarball} (${mib} MiB) — install on the gate PC: tar -xzf it, then sudo ./${name}/deploy/install.sh ${tarball.split("/").pop()}`,
);
if (!existsSync(tarball)) process.exit(1);
