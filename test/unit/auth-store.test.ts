import { describe, expect, it } from "vitest";
import { type LoginAttempt, LoginRateLimiter, parseCookies } from "../../src/api/auth.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { AlertStore } from "../../src/store/alerts.ts";
import { AuditLog } from "../../src/store/auditLog.ts";
import { openDatabase } from "../../src/store/db.ts";
import { EventLog } from "../../src/store/eventLog.ts";
import { SessionStore, UserStore, userProblem } from "../../src/store/users.ts";
import { testLog } from "../helpers/tmp.ts";

describe("parseCookies", () => {
    it("reads name=value pairs, the first of a repeated name, quoted values, and skips junk", () => {
        const cookies = parseCookies('a=1; gate_session=tok-en_1; b="two"; junk; =x; a=3');
        expect(cookies.get("gate_session")).toBe("tok-en_1");
        expect(cookies.get("a")).toBe("1");
        expect(cookies.get("b")).toBe("two");
        expect(cookies.size).toBe(3);
        expect(parseCookies(undefined).size).toBe(0);
    });
});

describe("LoginRateLimiter", () => {
    /** Takes a place and expects it to be granted. */
    const place = (limiter: LoginRateLimiter, name: string, ip: string): LoginAttempt => {
        const reserved = limiter.reserve(name, ip);
        if (!("attempt" in reserved)) throw new Error(`${name}@${ip} refused for ${reserved.retryAfterS} s`);
        return reserved.attempt;
    };
    const retryAfterS = (limiter: LoginRateLimiter, name: string, ip: string): number => {
        const reserved = limiter.reserve(name, ip);
        return "retryAfterS" in reserved ? reserved.retryAfterS : 0;
    };

    it("refuses after 5 failures in the window and lets a name try again once the oldest failure ages out", () => {
        const clock = new ManualClock(1_000_000);
        const limiter = new LoginRateLimiter(5, 15 * 60_000, () => clock.now());
        for (let i = 0; i < 5; i++) {
            place(limiter, "ann", `10.0.0.${i}`).failed();
            clock.advance(60_000);
        }
        // The first failure was 5 minutes ago: it leaves the window in 10 minutes.
        expect(retryAfterS(limiter, "ann", "10.9.9.9")).toBe(600);
        clock.advance(600_000);
        place(limiter, "ann", "10.9.9.9").failed();
        expect(retryAfterS(limiter, "ann", "10.9.9.9")).toBeGreaterThan(0);
    });

    it("counts an attempt from the moment it is reserved: 5 running checks refuse the 6th", () => {
        const clock = new ManualClock(1_000_000);
        const limiter = new LoginRateLimiter(5, 15 * 60_000, () => clock.now());
        const running = Array.from({ length: 5 }, (_, i) => place(limiter, "bob", `10.1.0.${i}`));
        // Refused, but told to try again in a second: a running check may yet succeed and give its place back.
        expect(retryAfterS(limiter, "bob", "10.1.0.99")).toBe(1);
        // Per address too: five running checks under five names block a sixth name.
        const spray = Array.from({ length: 5 }, (_, i) => place(limiter, `name-${i}`, "10.2.0.1"));
        expect(retryAfterS(limiter, "name-5", "10.2.0.1")).toBe(1);
        for (const attempt of [...running, ...spray]) attempt.failed();
        expect(retryAfterS(limiter, "bob", "10.1.0.99")).toBe(900);
        expect(retryAfterS(limiter, "name-5", "10.2.0.1")).toBe(900);
    });

    it("officers logging in at once from one address: refused for a second while five checks run, then let in", () => {
        const clock = new ManualClock(1_000_000);
        const limiter = new LoginRateLimiter(5, 15 * 60_000, () => clock.now());
        const shift = Array.from({ length: 5 }, (_, i) => place(limiter, `officer-${i}`, "10.4.0.1"));
        expect(retryAfterS(limiter, "officer-5", "10.4.0.1")).toBe(1);
        for (const attempt of shift) attempt.succeeded();
        place(limiter, "officer-5", "10.4.0.1").succeeded();
    });

    it("a success gives its place back and clears the name's failures, but not its running checks or the address's failures", () => {
        const clock = new ManualClock(1_000_000);
        const limiter = new LoginRateLimiter(5, 15 * 60_000, () => clock.now());
        for (let i = 0; i < 3; i++) place(limiter, "cat", "10.3.0.1").failed();
        const stillRunning = place(limiter, "cat", "10.3.0.2");
        place(limiter, "cat", "10.3.0.3").succeeded();
        // Left for the name: the running check only, so four more places.
        const more = Array.from({ length: 4 }, (_, i) => place(limiter, "cat", `10.3.1.${i}`));
        expect(retryAfterS(limiter, "cat", "10.3.9.9")).toBeGreaterThan(0);
        stillRunning.failed();
        for (const attempt of more) attempt.failed();
        // The address that failed three times keeps those: two more places for any name from there.
        place(limiter, "dan", "10.3.0.1").failed();
        place(limiter, "eve", "10.3.0.1").failed();
        expect(retryAfterS(limiter, "fay", "10.3.0.1")).toBeGreaterThan(0);
    });
});

describe("users and sessions", () => {
    it("names what is wrong with a user", () => {
        expect(userProblem({ name: "ok.name" })).toBeUndefined();
        expect(userProblem({ name: "x" })).toMatch(/2–32/);
        expect(userProblem({ role: "root" })).toMatch(/unknown role "root"/);
        expect(userProblem({ password: "123456789" })).toMatch(/too weak/);
        expect(userProblem({ password: "1234567890" })).toBeUndefined();
    });

    it("keeps only a hash of the session token, expires sessions, follows a role change at once", () => {
        const clock = new ManualClock(0);
        const db = openDatabase(":memory:");
        const users = new UserStore(db, () => clock.now());
        const sessions = new SessionStore(db, () => clock.now());
        users.add("ann", "officer", "scrypt$00$00");
        expect(() => users.add("ann", "officer", "scrypt$00$00")).toThrow(/already exists/);
        const { token, session } = sessions.create({ name: "ann", role: "officer" }, 1000, "127.0.0.1");
        expect(session.expiresAt).toBe(new Date(1000).toISOString());
        expect(JSON.stringify(db.prepare("SELECT * FROM sessions").all())).not.toContain(token);
        expect(sessions.get(token).session?.user).toEqual({ name: "ann", role: "officer" });
        db.prepare("UPDATE users SET role = 'auditor' WHERE name = 'ann'").run();
        expect(sessions.get(token).session?.user.role).toBe("auditor");
        clock.advance(1000);
        expect(sessions.get(token)).toEqual({ expired: true });
        expect(sessions.prune()).toBe(1);
        expect(sessions.get("not-a-token")).toEqual({ expired: false });
    });
});

describe("AuditLog", () => {
    it("chains entries and names the first one changed, or a gap", () => {
        const db = openDatabase(":memory:");
        const audit = new AuditLog(db);
        for (let i = 0; i < 6; i++)
            audit.append({
                user: "ann",
                role: "officer",
                action: "passage.view",
                outcome: "ok",
                ip: "1.2.3.4",
                detail: { i },
            });
        expect(audit.verify()).toEqual({ ok: true, checked: 6 });
        expect(audit.list(2, 2).map((entry) => entry.seq)).toEqual([3, 4]);
        db.exec("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;");
        db.prepare("UPDATE audit_log SET detail = ? WHERE seq = 3").run(JSON.stringify({ i: 99 }));
        expect(audit.verify()).toMatchObject({ ok: false, firstBroken: { seq: 3, reason: /hash/ } });
        db.prepare("UPDATE audit_log SET detail = ? WHERE seq = 3").run(JSON.stringify({ i: 2 }));
        expect(audit.verify().ok).toBe(true);
        db.prepare("DELETE FROM audit_log WHERE seq = 5").run();
        expect(audit.verify()).toMatchObject({ ok: false, firstBroken: { seq: 6, reason: /seq jumps/ } });
    });
});

describe("AlertStore", () => {
    it("projects raised and cleared alerts and device outages from the event log, resuming from its cursor", async () => {
        const db = openDatabase(":memory:");
        const log = new EventLog(db, { gateId: "G", clock: new ManualClock(0), log: testLog });
        log.start();
        const alerts = new AlertStore(db);
        await log.append({
            type: "alert.raised",
            laneId: "L1",
            deviceId: "seal-1",
            data: { code: "SEAL_TAMPERED", severity: "critical", message: "seal S1 tampered" },
        });
        await log.append({
            type: "device.status",
            laneId: "L1",
            deviceId: "cam-1",
            data: { status: "offline", reason: "gone" },
        });
        expect(alerts.catchUp().map((alert) => alert.code)).toEqual(["SEAL_TAMPERED", "DEVICE_OFFLINE"]);
        await log.append({ type: "device.status", laneId: "L1", deviceId: "cam-1", data: { status: "online" } });
        await log.append({
            type: "device.status",
            laneId: "L1",
            deviceId: "cam-1",
            data: { status: "offline", reason: "again" },
        });
        await log.append({ type: "alert.cleared", laneId: "L1", deviceId: "seal-1", data: { code: "SEAL_TAMPERED" } });
        alerts.catchUp();
        const open = alerts.list("open", 10);
        // One alert for the flapping camera, open again; the seal's is cleared but waits for an acknowledgement.
        expect(open.map((alert) => [alert.code, alert.clearedAt === undefined])).toEqual([
            ["DEVICE_OFFLINE", true],
            ["SEAL_TAMPERED", false],
        ]);
        expect(alerts.cursor).toBe(5);
        const seal = open[1]!;
        expect(alerts.acknowledge(seal.id, "ann", "replaced")).toMatchObject({ changed: true });
        expect(alerts.acknowledge(seal.id, "bob")).toMatchObject({ changed: false, alert: { acknowledgedBy: "ann" } });
        expect(alerts.list("acknowledged", 10).map((alert) => alert.id)).toEqual([seal.id]);
        expect(alerts.acknowledge("nope", "ann")).toBeUndefined();
    });
});
