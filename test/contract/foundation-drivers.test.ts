import { hasTool, systemToolAvailable } from "../helpers/system.ts";
import { driverContract } from "./driverContract.ts";
import { ptyScannerHarness, sealHarness, tcpScannerHarness } from "./harnesses.ts";

driverContract("serial over a TCP serial server", tcpScannerHarness);
driverContract("serial port (socat PTY pair)", ptyScannerHarness, { skip: !systemToolAvailable("socat") });
driverContract("MQTT device on the embedded broker", () => sealHarness("embedded"));
driverContract("MQTT device through an external Mosquitto", () => sealHarness("external"), {
    skip: !(hasTool("mosquitto") || systemToolAvailable("mosquitto")),
});
