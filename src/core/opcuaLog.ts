import type { Logger } from "pino";

/**
 * node-opcua prints its own notices with console.log (coloured, not JSON): "Creating default certificate
 * ... please wait" when a client or server makes its certificate, and at the first secure channel the
 * Node-version notice [NODE-OPCUA-W27] about CVE-2023-46809. They say nothing a technician must act on: the
 * gate's PLC driver reports the PLC's state itself. Its level is read from the environment when it loads,
 * so this runs before node-opcua is imported: errors only, until routeOpcuaLogs takes over.
 */
export function quietOpcuaStartup(): void {
    process.env.NODEOPCUA_LOG_LEVEL ??= "3";
}

/**
 * From here on node-opcua's messages go to the gate's log under component "node-opcua": its notices
 * (its warning level) at debug, seen with GATE_LOG_LEVEL=debug; its errors as errors.
 */
export async function routeOpcuaLogs(log: Logger): Promise<void> {
    const { LogLevel, setErrorLogger, setLogLevel, setWarningLogger } = await import("node-opcua");
    const opcua = log.child({ component: "node-opcua" });
    setLogLevel(LogLevel.Warning);
    // node-opcua calls these with its caller context first, then console.log-style arguments.
    setWarningLogger((_context: unknown, ...args: unknown[]) => opcua.debug(args.map(String).join(" ")));
    setErrorLogger((_context: unknown, ...args: unknown[]) => opcua.error(args.map(String).join(" ")));
}
