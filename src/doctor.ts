import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import {
    accessSync,
    constants,
    existsSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    realpathSync,
    rmSync,
    statfsSync,
    statSync,
} from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { gateListeners, loadConfig } from "./config/load.ts";
import type { DeviceConfig, GateConfig } from "./config/types.ts";
import { errorMessage, isGateError } from "./core/errors.ts";
import { certificateThumbprint, plcPkiFolder, plcPkiPaths } from "./drivers/opcuaPki.ts";
import { loadTransportsFor } from "./drivers/registry.ts";
import type { DoctorTarget } from "./drivers/transport.ts";
import { checkDatabaseFile, gateHolding } from "./store/backup.ts";
import { openDatabase } from "./store/db.ts";
import { SCHEMA_VERSION } from "./store/migrations.ts";
import { storageFindings, storageStatus } from "./store/retention.ts";
import { CentralClient } from "./sync/client.ts";
import { clearancePath } from "./sync/protocol.ts";

/**
 * `gate-edge doctor`: everything that stops a gate from working, checked and said in plain words for a
 * technician on the phone. Each check is ok, warn (works, but look at it), fail (the gate cannot work as
 * it should until this is fixed) or skip (cannot be checked from here now).
 */

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface CheckResult {
    status: CheckStatus;
    /** One plain sentence: what was checked, what was found, and for a problem what to do. */
    message: string;
    /** Further lines (every config error, …). */
    details?: string[];
}

export interface DoctorOptions {
    configFile: string;
    /** The environment the service gets (defaults: this process's, plus envFile's values it lacks). */
    env?: NodeJS.ProcessEnv;
    /** The service's EnvironmentFile (where the central token lives); read when present. */
    envFile?: string;
    /** Per network probe. */
    timeoutMs?: number;
    /** Runs `timedatectl`; tests hand in their own. */
    timedatectl?: () => Promise<string>;
    /** Where stable serial names live. */
    serialByIdDir?: string;
}

const MIB = 1024 * 1024;

/** KEY=VALUE lines of a systemd EnvironmentFile (comments, blanks and optional quotes). */
export function parseEnvFile(text: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
        const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
        if (!match) continue;
        let value = match[2] ?? "";
        if (/^".*"$/.test(value) || /^'.*'$/.test(value)) value = value.slice(1, -1);
        env[match[1] as string] = value;
    }
    return env;
}

/** The environment the service gets: this process's, plus the values of its EnvironmentFile it lacks. */
function serviceEnv(options: DoctorOptions, results: CheckResult[]): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = options.env ?? process.env;
    if (!options.envFile || !existsSync(options.envFile)) return env;
    try {
        return { ...parseEnvFile(readFileSync(options.envFile, "utf8")), ...env };
    } catch (err) {
        results.push({
            status: "warn",
            message: `${options.envFile} cannot be read (${errorMessage(err)}): checked without the service's environment`,
        });
        return env;
    }
}

/** `gate-edge doctor --trust-plc DEVICE`, with the configuration read as the service reads it. */
export async function trustPlc(options: DoctorOptions & { deviceId: string }): Promise<CheckResult> {
    try {
        const config = loadConfig(options.configFile, { env: serviceEnv(options, []) });
        return await trustPlcCertificate(config, options.deviceId, options.timeoutMs ?? 3000);
    } catch (err) {
        return { status: "fail", message: `the PLC certificate cannot be trusted: ${errorMessage(err)}` };
    }
}

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    const env = serviceEnv(options, results);
    let config: GateConfig;
    try {
        config = loadConfig(options.configFile, { env });
        const devices = config.lanes.reduce((sum, lane) => sum + lane.devices.length, 0);
        results.push({
            status: "ok",
            message: `configuration ${options.configFile} is valid: gate ${config.gate.id}, ${config.lanes.length} lane(s), ${devices} device(s)`,
        });
    } catch (err) {
        if (isGateError(err, "CONFIG_UNREADABLE")) {
            results.push({
                status: "fail",
                message: `configuration ${options.configFile} cannot be read (${err.message.split(": ").pop()}) — is the path right? The service reads /etc/gate-edge/gate.yaml`,
            });
        } else if (isGateError(err, "CONFIG_INVALID")) {
            results.push({
                status: "fail",
                message: `configuration ${options.configFile} is invalid — nothing starts until these are fixed:`,
                details: [...err.details],
            });
        } else {
            results.push({ status: "fail", message: `configuration cannot be loaded: ${errorMessage(err)}` });
        }
        return results;
    }
    const timeoutMs = options.timeoutMs ?? 3000;
    const running = gateHolding(config.storage.path);
    results.push(
        running !== undefined
            ? { status: "ok", message: `gate-edge is running on this configuration's database (pid ${running})` }
            : {
                  status: "warn",
                  message: "gate-edge is not running on this configuration's database (systemctl status gate-edge)",
              },
    );
    results.push(...checkDataDirectory(config));
    // Each device's transport says what can be checked of it (a local port, a peer on the network, …).
    const transportOf = await loadTransportsFor(config.lanes.flatMap((lane) => lane.devices));
    const targetOf = (device: DeviceConfig): DoctorTarget => transportOf(device).doctorTarget(device);
    results.push(...checkSerialPorts(config, options.serialByIdDir ?? "/dev/serial/by-id", targetOf));
    results.push(...(await checkPorts(config, running)));
    results.push(...(await checkDevices(config, running, timeoutMs, targetOf)));
    results.push(...(await checkPlcTrust(config, timeoutMs)));
    results.push(await checkCentral(config, env, timeoutMs));
    results.push(await checkClock(options.timedatectl ?? timedatectl));
    results.push(...checkDatabase(config));
    return results;
}

function whoAmI(): string {
    try {
        return userInfo().username;
    } catch {
        return `uid ${process.getuid?.() ?? "?"}`;
    }
}

function checkDataDirectory(config: GateConfig): CheckResult[] {
    const results: CheckResult[] = [];
    const dir = dirname(config.storage.path);
    const asRoot = process.getuid?.() === 0;
    const asWho = asRoot ? " (checked as root; `sudo -u gate-edge gate-edge doctor` checks as the service user)" : "";
    let existing = dir;
    while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
    try {
        accessSync(existing, constants.W_OK | constants.X_OK);
        results.push({
            status: "ok",
            message:
                existing === dir
                    ? `data directory ${dir} is writable${asWho}`
                    : `data directory ${dir} does not exist yet; ${existing} lets it be created${asWho}`,
        });
    } catch {
        results.push({
            status: "fail",
            message: `data directory ${dir} is not writable by ${whoAmI()} — the store cannot commit events: chown gate-edge:gate-edge ${existing}${asWho}`,
        });
        return results;
    }
    const quota = config.storage.quotaMb * MIB;
    // As the gate measures its quota: the file, its WAL and its shared-memory index.
    const used = ["", "-wal", "-shm"].reduce((sum, suffix) => {
        try {
            return sum + statSync(`${config.storage.path}${suffix}`).size;
        } catch {
            return sum;
        }
    }, 0);
    const mib = (bytes: number): string => `${Math.round(bytes / MIB)} MiB`;
    if (used >= quota) {
        results.push({
            status: "fail",
            message: `the store is full: it uses ${mib(used)} of its ${mib(quota)} quota (storage.quotaMb) — events central has not accepted are never dropped, so the lanes go to manual processing: restore the link to central so it drains, or raise storage.quotaMb if the disk allows`,
        });
    } else if (used >= quota * 0.9) {
        results.push({
            status: "warn",
            message: `the store is near its quota: ${mib(used)} of ${mib(quota)} (storage.quotaMb) — is central taking the events? (gate-edge doctor's central line, /api/v1/sync)`,
        });
    } else {
        results.push({ status: "ok", message: `the store uses ${mib(used)} of its ${mib(quota)} quota` });
    }
    try {
        const stats = statfsSync(existing);
        const free = stats.bavail * stats.bsize;
        const room = quota - used;
        if (room > 0 && free < room) {
            results.push({
                status: "fail",
                message: `the disk of ${existing} has ${mib(free)} free, but the store may still grow by ${mib(room)} before its quota: free disk space or lower storage.quotaMb, or the disk fills before the quota alarm`,
            });
        } else {
            results.push({ status: "ok", message: `the disk has ${mib(free)} free, room for the whole quota` });
        }
    } catch (err) {
        results.push({ status: "warn", message: `free disk space cannot be read: ${errorMessage(err)}` });
    }
    return results;
}

/** Stable names (by-id links) by the device node they point at. */
function stableNames(byIdDir: string): Map<string, string[]> {
    const names = new Map<string, string[]>();
    let entries: string[];
    try {
        entries = readdirSync(byIdDir);
    } catch {
        return names;
    }
    for (const entry of entries) {
        const link = join(byIdDir, entry);
        try {
            const target = realpathSync(link);
            names.set(target, [...(names.get(target) ?? []), link]);
        } catch {
            // A dangling link: its adapter was unplugged.
        }
    }
    return names;
}

function checkSerialPorts(
    config: GateConfig,
    byIdDir: string,
    targetOf: (device: DeviceConfig) => DoctorTarget,
): CheckResult[] {
    const serial = config.lanes.flatMap((lane) =>
        lane.devices.flatMap((device) => {
            const target = targetOf(device);
            return target.kind === "local-port" ? [{ device, path: target.path }] : [];
        }),
    );
    if (serial.length === 0) return [];
    const names = stableNames(byIdDir);
    const known = [...names.entries()].map(([target, links]) => `${links[0]} (→ ${target})`);
    const results: CheckResult[] = [];
    for (const { device, path } of serial) {
        const what = `serial port ${path} (device ${device.id}, lane ${device.laneId})`;
        if (!existsSync(path)) {
            results.push({
                status: "fail",
                message: `${what} does not exist — is the cable in and the adapter powered?${known.length > 0 ? "" : " No USB serial adapter is plugged in at all."}`,
                ...(known.length > 0 && { details: [`serial ports present: ${known.join(", ")}`] }),
            });
            continue;
        }
        try {
            accessSync(path, constants.R_OK | constants.W_OK);
        } catch {
            results.push({
                status: "fail",
                message: `${what} cannot be opened by ${whoAmI()} — the service user must be in the dialout group (install.sh puts gate-edge there): usermod -aG dialout ${whoAmI()}`,
            });
            continue;
        }
        const real = realpathSync(path);
        const stable = path.startsWith("/dev/serial/") ? undefined : names.get(real)?.[0];
        if (stable) {
            results.push({
                status: "warn",
                message: `${what} is there, but its number can change at the next reboot or replug: use its stable name ${stable}`,
            });
        } else {
            results.push({ status: "ok", message: `${what} is present and can be opened` });
        }
    }
    return results;
}

function portFree(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
    return new Promise((resolve) => {
        const server = createServer();
        server.once("error", (err: NodeJS.ErrnoException) => resolve(err));
        server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
    });
}

async function checkPorts(config: GateConfig, running: number | undefined): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    for (const { key, host, port, what } of gateListeners(config)) {
        if (port === 0) continue;
        const where = `port ${port} on ${host} (${key}, ${what})`;
        const err = await portFree(host, port);
        if (!err) {
            results.push({
                status: running !== undefined ? "warn" : "ok",
                message:
                    running !== undefined
                        ? `${where} is free, though gate-edge runs: it is not listening there (look at its log)`
                        : `${where} is free`,
            });
        } else if (err.code === "EADDRINUSE") {
            results.push(
                running !== undefined
                    ? {
                          status: "ok",
                          message: `${where} is in use — by the running gate (pid ${running}), as it should be`,
                      }
                    : {
                          status: "fail",
                          message: `${where} is taken by another program, so the gate cannot start: ss -ltnp 'sport = :${port}' shows which`,
                      },
            );
        } else if (err.code === "EADDRNOTAVAIL") {
            results.push({
                status: "fail",
                message: `${where}: this PC has no address ${host} — a network interface is down or ${key.split(".")[0]}.host is wrong`,
            });
        } else {
            results.push({ status: "fail", message: `${where} cannot be opened: ${err.code ?? err.message}` });
        }
    }
    return results;
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
    return new Promise((resolve) => {
        const socket = createConnection({ host, port });
        const timer = setTimeout(() => {
            socket.destroy();
            resolve(`no answer within ${timeoutMs} ms`);
        }, timeoutMs);
        socket.once("connect", () => {
            clearTimeout(timer);
            socket.destroy();
            resolve(undefined);
        });
        socket.once("error", (err: NodeJS.ErrnoException) => {
            clearTimeout(timer);
            resolve(err.code ?? err.message);
        });
    });
}

interface HealthDevice {
    id: string;
    status: string;
    reason?: string;
    since?: string;
}

async function checkDevices(
    config: GateConfig,
    running: number | undefined,
    timeoutMs: number,
    targetOf: (device: DeviceConfig) => DoctorTarget,
): Promise<CheckResult[]> {
    const devices = config.lanes.flatMap((lane) => lane.devices);
    if (running !== undefined) {
        // The running gate holds the device sessions (a serial server may take only one connection):
        // ask it how each device is, rather than connect beside it.
        const host =
            config.http.host === "0.0.0.0" ? "127.0.0.1" : config.http.host === "::" ? "::1" : config.http.host;
        try {
            const response = await fetch(
                `http://${host.includes(":") ? `[${host}]` : host}:${config.http.port}/api/v1/health`,
                {
                    signal: AbortSignal.timeout(timeoutMs),
                },
            );
            const health = (await response.json()) as { devices?: HealthDevice[] };
            const byId = new Map((health.devices ?? []).map((device) => [device.id, device]));
            return devices.map((device) => {
                const seen = byId.get(device.id);
                const what = `device ${device.id} (lane ${device.laneId}, ${device.model})`;
                if (!seen)
                    return {
                        status: "warn",
                        message: `${what} is not known to the running gate: reload or restart it`,
                    };
                if (seen.status === "online") return { status: "ok", message: `${what} is online` };
                return {
                    status: seen.status === "degraded" ? "warn" : "fail",
                    message: `${what} is ${seen.status}${seen.reason ? `: ${seen.reason}` : ""}${seen.since ? ` (since ${seen.since})` : ""}`,
                };
            });
        } catch (err) {
            return [
                {
                    status: "fail",
                    message: `the running gate's API does not answer (${errorMessage(err)}): is it hung? journalctl -u gate-edge`,
                },
            ];
        }
    }
    const results: CheckResult[] = [];
    for (const device of devices) {
        const what = `device ${device.id} (lane ${device.laneId}, ${device.model})`;
        const target = targetOf(device);
        if (target.kind === "network") {
            const problem = await tcpProbe(target.host, target.port, timeoutMs);
            results.push(
                problem === undefined
                    ? { status: "ok", message: `${what} answers at ${target.url}` }
                    : {
                          status: "fail",
                          message: `${what} does not answer at ${target.url} (${problem}) — is it powered, cabled and on this network?`,
                      },
            );
        } else if (target.kind === "dials-in") {
            results.push({
                status: "skip",
                message: `${what} connects to the gate itself: its status shows while the gate runs`,
            });
        }
    }
    return results;
}

/** PLCs reached with message security: their certificates must be trusted both ways. */
function securePlcs(config: GateConfig) {
    return config.lanes.flatMap((lane) =>
        lane.devices.flatMap((device) =>
            device.address.transport === "opcua" && device.address.securityMode !== "None"
                ? [
                      {
                          device,
                          address: device.address,
                          pki: plcPkiPaths(plcPkiFolder(config.storage.pkiFolder, device.id)),
                      },
                  ]
                : [],
        ),
    );
}

function describeCertificate(certificate: X509Certificate): string {
    const commonName = /CN=([^\n,]+)/.exec(certificate.subject)?.[1] ?? certificate.subject.replaceAll("\n", ", ");
    return `thumbprint ${certificateThumbprint(certificate.raw)} ("${commonName}", valid until ${new Date(certificate.validTo).toISOString().slice(0, 10)})`;
}

/** Thumbprints of the PLC certificates in a trusted/certs folder. */
function trustedThumbprints(folder: string): Set<string> {
    if (!existsSync(folder)) return new Set();
    const thumbprints = new Set<string>();
    for (const name of readdirSync(folder)) {
        try {
            thumbprints.add(certificateThumbprint(new X509Certificate(readFileSync(join(folder, name))).raw));
        } catch {
            // not a certificate (a lock file, an editor's backup): nothing to trust in it
        }
    }
    return thumbprints;
}

/**
 * The PLC's certificate as its endpoints announce it. Discovery needs no security (OPC UA Part 4), so this
 * works against a PLC that allows only SignAndEncrypt. The probing client's own certificate goes to a
 * scratch folder: the check must not write into the gate's PKI.
 */
async function fetchPlcCertificate(endpointUrl: string, timeoutMs: number): Promise<X509Certificate> {
    const { OPCUAClient, OPCUACertificateManager } = await import("node-opcua");
    const scratch = mkdtempSync(join(tmpdir(), "gate-edge-doctor-pki-"));
    const certificateManager = new OPCUACertificateManager({ rootFolder: scratch });
    const client = OPCUAClient.create({
        applicationName: "gate-edge doctor",
        endpointMustExist: false,
        clientCertificateManager: certificateManager,
        connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
    });
    let timer: NodeJS.Timeout | undefined;
    try {
        const endpoints = await Promise.race([
            client.connect(endpointUrl).then(() => client.getEndpoints()),
            new Promise<never>((_, reject) => {
                timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
            }),
        ]);
        const der = endpoints.find((endpoint) => endpoint.serverCertificate?.length)?.serverCertificate;
        if (!der) throw new Error("the PLC announces no certificate");
        return new X509Certificate(der);
    } finally {
        clearTimeout(timer);
        await client.disconnect().catch(() => undefined);
        await certificateManager.dispose();
        rmSync(scratch, { recursive: true, force: true });
    }
}

/**
 * For each PLC with message security: the gate's own certificate (the PLC must trust it) and the PLC's
 * certificate (the gate must trust it), with the thumbprints a technician compares with the PLC's.
 */
export async function checkPlcTrust(config: GateConfig, timeoutMs: number): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    for (const { device, address, pki } of securePlcs(config)) {
        const own = existsSync(pki.ownCertificate) ? new X509Certificate(readFileSync(pki.ownCertificate)) : undefined;
        results.push(
            own
                ? {
                      status: "ok",
                      message: `the gate's certificate for PLC ${device.id} is ${pki.ownCertificate}, ${describeCertificate(own)}: the PLC must trust it (on a Siemens S7-1500: TIA Portal, the OPC UA server's trusted clients)`,
                  }
                : {
                      status: "warn",
                      message: `the gate has no certificate for PLC ${device.id} yet: it is made at the gate's first connection, as ${pki.ownCertificate}; then the PLC must trust it`,
                  },
        );
        let certificate: X509Certificate;
        try {
            certificate = await fetchPlcCertificate(address.endpointUrl, timeoutMs);
        } catch (err) {
            results.push({
                status: "skip",
                message: `the certificate of PLC ${device.id} cannot be fetched from ${address.endpointUrl} (${errorMessage(err)})`,
            });
            continue;
        }
        const what = `the certificate of PLC ${device.id}, ${describeCertificate(certificate)},`;
        if (trustedThumbprints(pki.trusted).has(certificateThumbprint(certificate.raw))) {
            results.push({ status: "ok", message: `${what} is trusted` });
        } else if (address.trustOnFirstUse) {
            results.push({
                status: "warn",
                message: `${what} will be trusted at the first connection (plc.trustOnFirstUse)`,
            });
        } else {
            results.push({
                status: "fail",
                message: `${what} is not trusted, so the gate refuses to connect: compare the thumbprint with the one the PLC shows, then run gate-edge doctor --trust-plc ${device.id} (or move its file from ${pki.rejected} to ${pki.trusted})`,
            });
        }
    }
    return results;
}

/** `doctor --trust-plc DEVICE`: trusts the certificate the PLC presents now, and says which one. */
export async function trustPlcCertificate(
    config: GateConfig,
    deviceId: string,
    timeoutMs: number,
): Promise<CheckResult> {
    const plc = securePlcs(config).find((candidate) => candidate.device.id === deviceId);
    if (!plc) {
        return {
            status: "fail",
            message: `${deviceId} is no PLC with message security in this configuration (a PLC with plc.securityMode None needs no certificate)`,
        };
    }
    let certificate: X509Certificate;
    try {
        certificate = await fetchPlcCertificate(plc.address.endpointUrl, timeoutMs);
    } catch (err) {
        return { status: "fail", message: `PLC ${deviceId} at ${plc.address.endpointUrl}: ${errorMessage(err)}` };
    }
    const { OPCUACertificateManager } = await import("node-opcua");
    const manager = new OPCUACertificateManager({ rootFolder: plcPkiFolder(config.storage.pkiFolder, deviceId) });
    try {
        await manager.initialize();
        // Moves it out of rejected/ too, where the gate put it when it refused it.
        await manager.trustCertificate(certificate.raw);
    } finally {
        await manager.dispose();
    }
    // Files root makes in the PKI (its first private key, too) are no use to the service's own user.
    const asRoot =
        process.getuid?.() === 0
            ? `; made as root: chown -R gate-edge: ${plcPkiFolder(config.storage.pkiFolder, deviceId)} (or use sudo -u gate-edge)`
            : "";
    return {
        status: "ok",
        message: `the certificate of PLC ${deviceId}, ${describeCertificate(certificate)}, is now trusted (${plc.pki.trusted}); the gate connects at its next retry${asRoot}`,
    };
}

/**
 * Where the demo (`start --with-simulators`) keeps the central token it makes up for its own central when the
 * token variable is not set: beside the database, so the next start and `gate-edge doctor` use the same one.
 */
export function demoCentralEnvFile(config: GateConfig): string {
    return join(dirname(config.storage.path), "demo-central.env");
}

/** The demo's made-up central token, if the demo has made one for this configuration. */
export function demoCentralToken(config: GateConfig): string | undefined {
    const file = demoCentralEnvFile(config);
    if (!existsSync(file)) return undefined;
    return parseEnvFile(readFileSync(file, "utf8"))[config.central.tokenEnv] || undefined;
}

async function checkCentral(config: GateConfig, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CheckResult> {
    const central = config.central;
    if (!central.url)
        return { status: "warn", message: "no central.url: the gate runs standalone, every event waits in its outbox" };
    const demoToken = env[central.tokenEnv] ? undefined : demoCentralToken(config);
    const token = env[central.tokenEnv] || demoToken;
    const whose = demoToken ? ` (the demo's own token, from ${demoCentralEnvFile(config)})` : "";
    if (!token)
        return {
            status: "fail",
            message: `central ${central.url}: the token variable ${central.tokenEnv} is not set — put it in /etc/gate-edge/env (the service's EnvironmentFile)`,
        };
    let client: CentralClient;
    try {
        client = new CentralClient({
            url: central.url,
            token,
            timeoutMs: Math.max(timeoutMs, 1000),
            ...(central.ca !== undefined && { ca: central.ca }),
            ...(central.clientCert !== undefined && { clientCert: central.clientCert }),
            ...(central.clientKey !== undefined && { clientKey: central.clientKey }),
        });
    } catch (err) {
        return {
            status: "fail",
            message: `central ${central.url}: its certificate files cannot be read: ${errorMessage(err)}`,
        };
    }
    try {
        const response = await client.request("GET", `${clearancePath(config.gate.id)}?after=0&limit=1`);
        if (response.status === 200)
            return { status: "ok", message: `central ${client.target} answered and accepted the token${whose}` };
        if (response.status === 401 || response.status === 403)
            return {
                status: "fail",
                message: `central ${client.target} refused the token (HTTP ${response.status}) — ${central.tokenEnv} is wrong or expired: ask central for the gate's token`,
            };
        return {
            status: response.status >= 500 || response.status === 429 ? "warn" : "fail",
            message: `central ${client.target} answered HTTP ${response.status}; uploads wait and retry until it answers 200`,
        };
    } catch (err) {
        return {
            status: "fail",
            message: `central ${client.target} cannot be reached: ${errorMessage(err)} — network, firewall, DNS, or its certificate?`,
        };
    } finally {
        client.close();
    }
}

function timedatectl(): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(
            "timedatectl",
            ["show", "-p", "NTPSynchronized", "--value"],
            { timeout: 3000 },
            (err, stdout, stderr) => {
                if (err) reject(new Error(stderr.trim() || err.message));
                else resolve(stdout.trim());
            },
        );
    });
}

async function checkClock(ask: () => Promise<string>): Promise<CheckResult> {
    try {
        const answer = await ask();
        if (answer === "yes") return { status: "ok", message: "the system clock is synchronised (NTP)" };
        if (answer === "no")
            return {
                status: "warn",
                message:
                    "the system clock is NOT synchronised: event times may be off (their order is kept by seq) — timedatectl timesync-status, and can the PC reach an NTP server?",
            };
        return {
            status: "warn",
            message: `cannot tell whether the clock is synchronised (timedatectl said "${answer}")`,
        };
    } catch (err) {
        return {
            status: "warn",
            message: `cannot tell whether the clock is synchronised (timedatectl: ${errorMessage(err).split("\n")[0]})`,
        };
    }
}

function checkDatabase(config: GateConfig): CheckResult[] {
    const path = config.storage.path;
    if (!existsSync(path))
        return [{ status: "ok", message: `database ${path} does not exist yet: it is created at the first start` }];
    let check: ReturnType<typeof checkDatabaseFile>;
    try {
        check = checkDatabaseFile(path);
    } catch (err) {
        return [{ status: "fail", message: `database ${path} cannot be opened: ${errorMessage(err)}` }];
    }
    const results: CheckResult[] = [];
    if (check.integrity !== "ok") {
        results.push({
            status: "fail",
            message: `database ${path} fails SQLite's integrity check (${check.integrity}) — stop the gate and restore the last backup (gate-edge restore)`,
        });
        return results;
    }
    if (check.schemaVersion > SCHEMA_VERSION) {
        results.push({
            status: "fail",
            message: `database ${path} was written by a newer gate-edge (schema v${check.schemaVersion}; this one knows v${SCHEMA_VERSION}): install that release again`,
        });
    } else if (check.schemaVersion < SCHEMA_VERSION) {
        results.push({
            status: "ok",
            message: `database ${path} passes SQLite's integrity check; its schema v${check.schemaVersion} is upgraded to v${SCHEMA_VERSION} at the next start, after a backup`,
        });
    } else {
        results.push({
            status: "ok",
            message: `database ${path} passes SQLite's integrity check (schema v${check.schemaVersion})`,
        });
    }
    if (check.chain) {
        if (check.chain.ok) {
            results.push({
                status: "ok",
                message: `hash chain intact: ${check.chain.events} event(s), head seq ${check.chain.headSeq}`,
            });
        } else {
            const broken = check.chain.firstBroken!;
            results.push({
                status: "fail",
                message: `hash chain BROKEN at seq ${broken.seq} (event ${broken.id}): ${broken.reason} — the evidence was altered or damaged; keep the file, report it`,
            });
        }
    }
    results.push({
        status: check.parked > 0 ? "warn" : "ok",
        message:
            `${check.undelivered} event(s) wait for central` +
            (check.parked > 0
                ? `, ${check.parked} of them parked (central rejected them): see the Sync page, retry after fixing`
                : ""),
    });
    results.push(...checkStorageHeadroom(config));
    return results;
}

/** Days of headroom at the current rate, the oldest unsynced event, the last checkpoint (src/store/retention.ts). */
function checkStorageHeadroom(config: GateConfig): CheckResult[] {
    let db: ReturnType<typeof openDatabase> | undefined;
    try {
        db = openDatabase(config.storage.path, { readonly: true, key: "storage.path" });
        const now = Date.now();
        const status = storageStatus(db, {
            now,
            retentionDays: config.storage.retentionDays,
            quotaMb: config.storage.quotaMb,
            path: config.storage.path,
        });
        return storageFindings(status, now).map(({ level, message }) => ({ status: level, message }));
    } catch (err) {
        return [{ status: "warn", message: `storage headroom not measured: ${errorMessage(err)}` }];
    } finally {
        db?.close();
    }
}

const MARKS: Readonly<Record<CheckStatus, string>> = { ok: "✓", warn: "!", fail: "✗", skip: "–" };

export function formatResults(results: readonly CheckResult[]): string[] {
    const lines: string[] = [];
    for (const result of results) {
        lines.push(`${MARKS[result.status]} ${result.message}`);
        for (const detail of result.details ?? []) lines.push(`    ${detail}`);
    }
    const fails = results.filter((result) => result.status === "fail").length;
    const warns = results.filter((result) => result.status === "warn").length;
    lines.push(
        fails > 0
            ? `${fails} problem(s), ${warns} warning(s): the gate cannot work as it should until the ✗ lines are fixed.`
            : warns > 0
              ? `no problem, ${warns} warning(s) to look at.`
              : "no problem found.",
    );
    return lines;
}
