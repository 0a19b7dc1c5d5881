import type { LogLevel, setErrorLogger, setLogLevel, setWarningLogger } from "node-opcua-client";
import type { Logger } from "pino";

/**
 * node-opcua prints its own notices with console.log (coloured, not JSON): "Creating default certificate
 * ... please wait" when a client or server makes its certificate, and at the first secure channel the
 * Node-version notice [NODE-OPCUA-W27] about CVE-2023-46809. They say nothing a technician must act on: the
 * gate's PLC driver reports the PLC's state itself. Its level is read from the environment when it loads,
 * so this runs before node-opcua is imported: errors only, until its messages are routed to the gate's log.
 */
export function quietOpcuaStartup(): void {
    process.env.NODEOPCUA_LOG_LEVEL ??= "3";
}

/** node-opcua's logging switches, handed over by the module that imports node-opcua anyway. */
export interface OpcuaLogging {
    LogLevel: typeof LogLevel;
    setLogLevel: typeof setLogLevel;
    setWarningLogger: typeof setWarningLogger;
    setErrorLogger: typeof setErrorLogger;
}

let target: Logger | undefined;
let logging: OpcuaLogging | undefined;

function route(): void {
    if (target === undefined || logging === undefined) return;
    const opcua = target.child({ component: "node-opcua" });
    logging.setLogLevel(logging.LogLevel.Warning);
    // node-opcua calls these with its caller context first, then console.log-style arguments.
    logging.setWarningLogger((_context: unknown, ...args: unknown[]) => opcua.debug(args.map(String).join(" ")));
    logging.setErrorLogger((_context: unknown, ...args: unknown[]) => opcua.error(args.map(String).join(" ")));
}

/**
 * From the moment node-opcua is loaded, its messages go to `log` under component "node-opcua": its notices
 * (its warning level) at debug, seen with GATE_LOG_LEVEL=debug; its errors as errors. It does not load
 * node-opcua itself: that costs about a second of start-up, and a gate with no OPC UA PLC never needs it.
 */
export function routeOpcuaLogs(log: Logger): void {
    target = log;
    route();
}

/** Called by each module that imports node-opcua (the PLC transport, the PLC simulator) as it loads. */
export function adoptOpcuaLogging(switches: OpcuaLogging): void {
    logging ??= switches;
    route();
}
