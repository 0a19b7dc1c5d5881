/**
 * Where the PKI of each PLC connection lives and what is in it, without loading node-opcua: the gate, the
 * driver and `gate-edge doctor` must agree on these folders. Layout (node-opcua's): own/certs/
 * client_certificate.pem is the gate's certificate the PLC must trust; trusted/certs/ holds the PLC
 * certificates the gate trusts; rejected/ those it refused, named "<CN>[<SHA-1 thumbprint>].pem".
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** One folder per PLC device: two drivers creating their first certificate in one folder could collide. */
export function plcPkiFolder(storagePkiFolder: string, deviceId: string): string {
    return join(storagePkiFolder, deviceId);
}

export function plcPkiPaths(pkiFolder: string) {
    return {
        ownCertificate: join(pkiFolder, "own", "certs", "client_certificate.pem"),
        trusted: join(pkiFolder, "trusted", "certs"),
        rejected: join(pkiFolder, "rejected"),
    };
}

/** The SHA-1 thumbprint OPC UA tools show (TIA Portal, UaExpert), as lower-case hex. */
export function certificateThumbprint(der: Buffer): string {
    return createHash("sha1").update(der).digest("hex");
}

/** Thumbprints of the PLC certificates the gate refused and keeps in rejected/, newest first. */
export function rejectedThumbprints(pkiFolder: string): string[] {
    const dir = plcPkiPaths(pkiFolder).rejected;
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
        .map((name) => ({
            thumbprint: /\[([0-9a-f]{40})\]\.(pem|der)$/i.exec(name)?.[1],
            at: statSync(join(dir, name)).mtimeMs,
        }))
        .filter((file): file is { thumbprint: string; at: number } => file.thumbprint !== undefined)
        .sort((a, b) => b.at - a.at)
        .map((file) => file.thumbprint);
}
