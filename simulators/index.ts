/**
 * Device simulators that speak the real wire protocols, so a lane can be tested with no hardware.
 * Each one takes its bytes or payloads from the device model in devices/, never formats them itself.
 */
export { runSimulateCommand, SIMULATOR_KINDS, type SimulateIo, type SimulatorKind, simulateUsage } from "./cli.ts";
export {
    type SealRead,
    SealReaderSimulator,
    type SealReaderSimulatorEvents,
    type SealReaderSimulatorOptions,
} from "./eseal.ts";
export { modelIds, resolveModel } from "./models.ts";
export { type Rng, seededRng } from "./random.ts";
export { type RpmPassKind, RpmSimulator, type RpmSimulatorOptions } from "./rpm.ts";
export { type DriveOptions, ScaleSimulator, type ScaleSimulatorEvents, type ScaleSimulatorOptions } from "./scale.ts";
export {
    type ScannerScript,
    ScannerSimulator,
    type ScannerSimulatorEvents,
    type ScannerSimulatorOptions,
    type ScannerSuffix,
} from "./scanner.ts";
export {
    type ByteLink,
    CHUNKINGS,
    type Chunking,
    type LinkEvent,
    type LinkEventType,
    PtyPair,
    type PtyPairOptions,
    TcpSerialServer,
    type TcpSerialServerOptions,
} from "./transport.ts";
export { type XrayResult, type XrayScanRequest, XraySimulator, type XraySimulatorOptions } from "./xray.ts";
