/** The validated, frozen configuration of one gate. Mirrors config/gate.schema.json with defaults applied. */

export interface DeviceCredentials {
    username: string;
    /** scrypt hash `scrypt$<salt hex>$<hash hex>`; the plain password never outlives loading. */
    passwordHash: string;
}

export type DeviceAddress =
    | {
          transport: "serial";
          path: string;
          baudRate?: number;
          dataBits?: 7 | 8;
          parity?: "none" | "even" | "odd";
          stopBits?: 1 | 2;
      }
    | { transport: "tcp"; host: string; port: number }
    | { transport: "mqtt"; topic: string };

export interface DeviceConfig {
    id: string;
    laneId: string;
    model: string;
    kind: string;
    address: DeviceAddress;
    role?: string;
    auth?: DeviceCredentials;
    pollIntervalMs?: number;
}

export interface LaneConfig {
    id: string;
    name: string;
    direction: "IN" | "OUT";
    devices: DeviceConfig[];
}

export interface GateConfig {
    gate: { id: string; name: string };
    storage: { path: string; quotaMb: number; groupCommitMax: number };
    http: { host: string; port: number };
    broker:
        | { mode: "embedded"; host: string; port: number }
        | { mode: "external"; url: string; username?: string; password?: string; clientId: string };
    ingest: {
        weightSettleMs: number;
        weightSettleToleranceKg: number;
        duplicateWindowMs: number;
        rawFrameBuffer: number;
        offlineAfterMs: number;
    };
    lanes: LaneConfig[];
    /** Where the file was read from, for messages. */
    source: string;
}
