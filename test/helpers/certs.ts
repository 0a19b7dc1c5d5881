import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { systemToolAvailable } from "./system.ts";

export interface TestCerts {
    /** Self-signed server certificate for 127.0.0.1 (also the CA a client trusts) and its key. */
    serverCert: string;
    serverKey: string;
    /** Self-signed client certificate (also the CA the server checks clients against) and its key. */
    clientCert: string;
    clientKey: string;
}

/**
 * Makes short-lived P-256 certificates with the openssl CLI in `dir`. Undefined (with the loud skip message)
 * when openssl is missing; throws then under GATE_REQUIRE_SYSTEM_TESTS=1.
 */
export function makeTestCerts(dir: string): TestCerts | undefined {
    if (!systemToolAvailable("openssl")) return undefined;
    const selfSigned = (name: string, cn: string, extra: string[]): void => {
        const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"];
        args.push("-subj", `/CN=${cn}`, ...extra, "-keyout", `${name}.key`, "-out", `${name}.crt`);
        const run = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
        if (run.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${run.stderr}`);
    };
    selfSigned("server", "127.0.0.1", ["-addext", "subjectAltName=IP:127.0.0.1"]);
    selfSigned("client", "gate-client", []);
    return {
        serverCert: join(dir, "server.crt"),
        serverKey: join(dir, "server.key"),
        clientCert: join(dir, "client.crt"),
        clientKey: join(dir, "client.key"),
    };
}
