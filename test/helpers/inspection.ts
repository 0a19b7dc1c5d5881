/**
 * A gate with an inspection case to work: lane L1 with a plate camera and a declaration scanner, a RED
 * declaration in the clearance cache, and the truck's reads that make the lane decide INSPECT.
 */
import type { Gate } from "../../src/gate.ts";
import type { InspectionCase } from "../../src/inspection/caseModel.ts";
import { eventually, startGate, testConfig } from "./gate.ts";
import { declarationScanDraft, plateDraft } from "./readings.ts";

export const RED_DECLARATION = "100001234540";
export const RED_PLATE = "15C-888.10";

/** The gate, no truck yet. */
export async function startInspectionGate(dir: string): Promise<Gate> {
    const gate = await startGate(
        testConfig(
            dir,
            `  - id: L1
    devices:
      - { id: cam-1, model: dahua-itsapi-anpr, role: front, auth: { username: cam-1, password: camera-password } }
      - { id: scan-1, model: serial-barcode-scanner, address: "tcp://127.0.0.1:9" }
`,
            "rules: { requiredReads: [plate, declaration] }",
        ),
    );
    gate.clearance.importData(
        {
            version: "red-1",
            declarations: [
                {
                    number: RED_DECLARATION,
                    type: "10",
                    channel: "RED",
                    status: "CLEARED",
                    declaredPlates: [RED_PLATE],
                    containers: [],
                    version: 1,
                },
            ] as never, // central's JSON shape, validated by the cache
            watchList: [],
        },
        Date.now(),
    );
    gate.clearance.setVersion("red-1", Date.now());
    return gate;
}

/** The RED truck read at lane L1; its case once the INSPECT decision has opened it. */
export async function openRedCase(gate: Gate, timeoutMs = 30_000): Promise<InspectionCase> {
    await gate.log.append({ laneId: "L1", ...plateDraft("cam-1", RED_PLATE, "15C88810") });
    await gate.log.append({ laneId: "L1", ...declarationScanDraft("scan-1", RED_DECLARATION) });
    return eventually(() => gate.inspections.list({ status: "open", limit: 10 })[0], timeoutMs, "the RED truck's case");
}
