/** The validated, frozen configuration of one gate. Mirrors config/gate.schema.json with defaults applied. */

import type { ModelOptions } from "../../devices/types.ts";
import type { YardConfig } from "../yard/config.ts";

export interface DeviceCredentials {
    username: string;
    /** `hmac$<hex>` under a key made at start (sealPassword); the plain password never outlives loading. */
    passwordHash: string;
    /** Push cameras: Basic is accepted besides Digest (config `auth.basic`). */
    basic?: boolean;
    /**
     * Push cameras: Digest HA1 per algorithm for the receiver's realm, a password equivalent there. A
     * non-enumerable property, like `login`, so nothing that walks the config carries it.
     */
    readonly digest?: DigestSecrets;
}

/** HA1 = H(username:realm:password) of the push receiver's realm, per Digest algorithm (hex). */
export interface DigestSecrets {
    readonly MD5: string;
    readonly "SHA-256": string;
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
    | { transport: "mqtt"; topic: string }
    /** Devices that dial in to gate-edge (GPS e-locks): one listener, many devices named inside their frames. */
    | { transport: "tcp-listen"; host: string; port: number; maxConnections: number; idleTimeoutMs: number }
    /** An ONVIF camera's device service. */
    | { transport: "onvif"; host: string; port: number; snapshot: boolean }
    /** A camera that pushes to the receiver; `allow` lists source addresses for cameras without credentials. */
    | { transport: "http-push"; allow: string[] }
    /** A device that writes whole documents into a folder (inspection devices: `inspection.devices`). */
    | { transport: "folder"; folder: string; pollMs: number; settleMs: number }
    | {
          transport: "opcua";
          endpointUrl: string;
          lanePrefix: string;
          securityMode: "None" | "Sign" | "SignAndEncrypt";
          securityPolicy?: string;
          /** Trust the PLC's certificate when first seen (else a technician trusts it with doctor --trust-plc). */
          trustOnFirstUse: boolean;
          commandTimeoutMs: number;
          heartbeatMs: number;
      };

/** Credentials gate-edge presents to a device (ONVIF camera, PLC). Kept in memory only, never logged. */
export interface DeviceLogin {
    username: string;
    password: string;
}

/** A device of the inspection area (`inspection.devices`): it drops documents into `folder` (src/inspection). */
export interface InspectionDeviceConfig {
    id: string;
    /** An inspection model: n42-rpm or nii-scan-package. */
    model: string;
    /** The lane whose approach it stands on (an RPM); absent for the inspection area's own devices. */
    laneId?: string;
    /** Absolute path of the folder the device writes to. */
    folder: string;
    pollMs: number;
    settleMs: number;
    /** Silent this long (ms), the device is offline; 0: never (src/inspection/silence.ts). */
    silentAfterMs: number;
}

/** An exit point (`inspection.exits`): a lane camera whose reads are checked against inspection cases. */
export interface ExitPointConfig {
    id: string;
    /** A camera device id of one of the lanes. */
    camera: string;
    /** The PLC on the camera's lane that opens the exit barrier for a truck allowed to leave. */
    barrier?: string;
}

export interface DeviceConfig {
    id: string;
    laneId: string;
    model: string;
    kind: string;
    address: DeviceAddress;
    role?: string;
    /** Devices that log in to gate-edge (MQTT devices, push cameras): a hash only. */
    auth?: DeviceCredentials;
    /**
     * Devices gate-edge logs in to (ONVIF cameras, the PLC). A non-enumerable property, so no log line,
     * JSON dump or API answer that walks the config can ever carry it.
     */
    readonly login?: DeviceLogin;
    /** Non-enumerable: a keyed fingerprint of the device's credentials, so a reload sees a changed password. */
    readonly authFingerprint?: string;
    pollIntervalMs?: number;
    /** The device's settings that change how its model reads it (e.g. `checksum: false`), as checked against the model. */
    options?: ModelOptions;
}

/** A lane display for the drivers (src/display): a kiosk monitor or an LED sign on the broker. */
export interface DisplayConfig {
    id: string;
    laneId: string;
    model: string;
    /** Kiosk: `hmac$…` of its token (sealPassword); the token itself never outlives loading. */
    tokenHash?: string;
    /** LED sign on the embedded broker: its login, a hash only. */
    auth?: DeviceCredentials;
}

export interface LaneConfig {
    id: string;
    name: string;
    direction: "IN" | "OUT";
    devices: DeviceConfig[];
    /** Absent when the lane has none. */
    displays?: DisplayConfig[];
}

export interface GateConfig {
    /** `timeZone`: the IANA zone the dashboard shows every time in (shifts cross midnight; the browser may not be at the gate). */
    gate: { id: string; name: string; timeZone: string };
    storage: {
        path: string;
        quotaMb: number;
        quotaCheckMs: number;
        groupCommitMax: number;
        imageRetentionDays: number;
        /** Accepted events leave the log this many days after they were recorded (src/store/retention.ts). */
        retentionDays: number;
        retentionCheckMs: number;
        /** Archives of pruned ranges are written here first, when set. */
        archiveDir?: string;
        /** OPC UA client certificates. */
        pkiFolder: string;
    };
    /** The dashboard: `defaultLanguage` until a user chooses theirs (absent: Vietnamese). */
    ui?: { defaultLanguage: "vi" | "en" };
    http: {
        host: string;
        port: number;
        /** A dashboard session ends this many hours after login. */
        sessionHours: number;
        /** Session cookie marked Secure (the dashboard is served over HTTPS). */
        secureCookie: boolean;
        /** Failed logins per user name and per IP address within the window before 429. */
        loginRateLimit: { maxFailures: number; windowMinutes: number };
    };
    /** The receiver push cameras post to; wrong camera logins per source address and per camera are limited. */
    push: { host: string; port: number; loginRateLimit: { maxFailures: number; windowMinutes: number } };
    broker:
        | {
              mode: "embedded";
              host: string;
              port: number;
              /** Largest packet a client may declare; a larger one closes its socket before it is read. */
              maxPacketBytes: number;
              /** A socket that has not logged in this long after it opened is closed. */
              connectTimeoutMs: number;
              /** Open MQTT sessions one device account may hold. */
              maxSessionsPerAccount: number;
              /** Failed MQTT logins per source address and per device account within the window before refusal. */
              loginRateLimit: { maxFailures: number; windowMinutes: number };
          }
        | { mode: "external"; url: string; username?: string; password?: string; clientId: string };
    /** Central sync; `url` undefined = standalone (events wait in the outbox). */
    central: {
        url?: string;
        /** Name of the environment variable that holds the bearer token. */
        tokenEnv: string;
        ca?: string;
        clientCert?: string;
        clientKey?: string;
        batchMaxEvents: number;
        requestTimeoutMs: number;
        backoffBaseMs: number;
        backoffMaxMs: number;
        authRetryMs: number;
        maxRetryAfterMs: number;
        clearancePollMs: number;
        maxEventsPerSecond: number;
        busyMaxEventsPerSecond: number;
        busyIngestPerSecond: number;
    };
    ingest: {
        weightSettleMs: number;
        weightSettleToleranceKg: number;
        duplicateWindowMs: number;
        rawFrameBuffer: number;
        offlineAfterMs: number;
    };
    rules: {
        weightTolerancePct: number;
        requiredReads: ("plate" | "declaration" | "weight" | "seal")[];
        clearanceMaxAgeMinutes: number;
        offlinePolicy: "cached" | "hold";
        minPlateConfidence: number;
        /** A manual release of a truck decided on stale clearance data needs a supervisor's approval. */
        staleReleaseFourEyes: boolean;
        identifySeconds: number;
        weighSeconds: number;
        exitSeconds: number;
    };
    lanes: LaneConfig[];
    /**
     * Radiation portal monitors and X-ray / NII scanners (issue 18); the exit points whose cameras check a
     * truck's inspection case; the share of trucks selected at random for inspection (0–1).
     */
    inspection?: { devices: InspectionDeviceConfig[]; exits?: ExitPointConfig[]; randomRate?: number };
    /** The yard before the lanes: entry cameras, queues per lane group, call-forward, dwell limits (issue 19). */
    yard?: YardConfig;
    /** Where the file was read from, for messages. */
    source: string;
}
