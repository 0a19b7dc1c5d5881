/**
 * The transport contract for every transport in the registry, each against a real peer; and the check
 * that no transport is registered without a case here.
 */
import { describe, expect, it } from "vitest";
import { transportNames } from "../../src/drivers/registry.ts";
import type { RawInput } from "../../src/drivers/transport.ts";
import { systemToolAvailable } from "../helpers/system.ts";
import type { ContractHarness } from "./driverContract.ts";
import {
    declaration,
    jt701Harness,
    onvifHarness,
    plate,
    plcHarness,
    ptyScannerHarness,
    pushHarness,
    rpmFolderHarness,
    sealHarness,
    tcpScannerHarness,
} from "./harnesses.ts";
import { coveredTransports, type TransportHarness, transportContract } from "./transportContract.ts";

/** What the peer sent, as text to look for a read in. */
function textOf(raw: RawInput): string {
    switch (raw.kind) {
        case "frame":
        case "discarded":
            return raw.bytes.toString("latin1");
        case "publish":
            return raw.payload.toString("utf8");
        case "notification":
            return raw.xml;
        case "push":
            return Buffer.from(raw.request.body).toString("latin1");
        case "tag":
            return `${raw.tag}=${JSON.stringify(raw.value)}`;
        case "entry":
            return raw.entry.name;
    }
}

/** A whole-gate harness whose read n shows in the raw input as `text(n)`. */
function carrying(harness: ContractHarness, text: (n: number) => string): TransportHarness {
    return { ...harness, isRead: (raw, n) => raw.kind !== "discarded" && textOf(raw).includes(text(n)) };
}

const LOOP_TAGS = ["Loop.Entry.Occupied", "Loop.Safety.Occupied", "Loop.Exit.Occupied"];

transportContract("serial", () => carrying(ptyScannerHarness(), declaration), {
    skip: !systemToolAvailable("socat"),
});
transportContract("tcp", () => carrying(tcpScannerHarness(), declaration));
transportContract("mqtt", () => carrying(sealHarness("embedded"), (n) => `SEAL-${n}`));
transportContract("http-push", () => carrying(pushHarness("dahua-itsapi-anpr"), plate));
transportContract("onvif", () => carrying(onvifHarness(), plate));
// The PLC harness waits in the gate's log for the loops' first values; here the raw values are enough.
transportContract("opcua", () => ({
    ...carrying(plcHarness(), (n) => `${LOOP_TAGS[(n - 1) % LOOP_TAGS.length]}=true`),
    gateStarted: undefined,
}));
transportContract("tcp-listen", jt701Harness);
transportContract("folder", rpmFolderHarness);

describe("the transport registry", () => {
    it("has a contract case for every registered transport", () => {
        expect(transportNames.filter((name) => !coveredTransports.has(name))).toEqual([]);
    });
});
