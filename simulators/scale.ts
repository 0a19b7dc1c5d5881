/**
 * A weighbridge indicator that speaks its model's real protocol on a ByteLink (docs/devices.md "Weighbridge indicators").
 * Continuous models stream a frame at rateHz; request models answer each host command. Every byte comes
 * from the model's encode/respond, so the simulator and gate-edge's decoders agree by construction.
 */
import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import type { IndicatorInfo, ScaleModel, ScaleState } from "../devices/types.ts";
import { GateError } from "../src/core/errors.ts";
import { StreamFramer } from "../src/drivers/framing.ts";
import { resolveModel } from "./models.ts";
import { forgivingPromise } from "./promises.ts";
import { type Rng, randomBytes } from "./random.ts";
import type { ByteLink, LinkEvent } from "./transport.ts";

export interface ScaleSimulatorOptions {
    /** Model id from devices/ (e.g. "toledo-continuous") or a ScaleModel object. */
    model: string | ScaleModel;
    /** Where the indicator's serial line goes. The simulator owns it: start() starts it, stop() stops it. */
    link: ByteLink;
    /** Continuous models: frames per second; request models: how often the weight is updated. Default 10. */
    rateHz?: number;
    /** Display division d in kg; every shown weight is a multiple of it. Default 10 kg. */
    divisionKg?: number;
    /** Max capacity in kg; above Max + 9 d the indicator reports overload. Default 80 000 kg. */
    capacityKg?: number;
    /** Seedable random source for axle loads, timing and garbage. Default Math.random. */
    rng?: Rng;
    /** Every Nth frame (or weight answer) is sent corrupt; 0 or absent = never. */
    corruptEvery?: number;
    /** At rest the display wanders by up to this many divisions (zero tracking off). Default 0. */
    noiseDivisions?: number;
    /**
     * Zero-setting range, ± this % of capacity around the calibrated zero: a zero command (or the ZERO
     * key) with more on the deck is refused, as OIML R 76 indicators refuse it. Default 2 %.
     */
    zeroRangePercent?: number;
    /** What the identification commands answer (MT-SICS `@` and `I4`). Default "0123456789". */
    serialNumber?: string;
}

export interface DriveOptions {
    /** Time for all axles to roll on (or off), in ms. Real trucks take 3000–8000 ms. Default 4000 (on), 3000 (off). */
    rampMs?: number;
    /** Time the deck keeps swinging after the last axle before the indicator reports stable. Default 1500 ms. */
    settleMs?: number;
    /** Number of axles; default chosen from the load (2 axles up to 16 t … 6 axles above 40 t). */
    axles?: number;
}

// A type alias, not an interface: EventEmitter's type parameter needs an index-compatible map.
export type ScaleSimulatorEvents = {
    /** Bytes the indicator sent (a frame, an answer, or a cut-off frame). */
    frame: [bytes: Uint8Array];
    /** A host command as cut by the model's commandFramer (request models). */
    command: [command: Uint8Array];
    /** The indicator started showing motion at this weight. */
    motion: [kg: number];
    /** The weight settled: motion flag off at this weight. */
    stable: [kg: number];
    /** Something happened on the link (client connected, port unplugged …). */
    link: [event: LinkEvent];
};

interface AxleStep {
    /** ms after the ramp starts at which this axle begins to roll onto (or off) the deck. */
    at: number;
    /** Weight it adds (negative when it leaves). */
    delta: number;
    /** ms it takes to roll fully on. */
    rollMs: number;
}

interface Ramp {
    startedAt: number;
    from: number;
    to: number;
    rampMs: number;
    settleMs: number;
    steps: AxleStep[];
}

interface StableWaiter {
    kg: number | undefined;
    resolve(kg: number): void;
    reject(err: Error): void;
}

const OSCILLATION_HZ = 1.6; // deck and suspension bounce
const OSCILLATION_DECAY_MS = 450; // e-folding time of one axle's bounce
const OSCILLATION_SHARE = 0.06; // first swing as a share of the axle load

/**
 * Error rules: start() rejects with GateError MODEL_UNKNOWN for an unknown or non-scale model and
 * SIMULATOR_USAGE for bad options, and passes on the link's start() error. Behaviour methods throw
 * SIMULATOR_USAGE for impossible values (negative ramp, NaN weight). Promises waiting for stability are
 * rejected with DRIVER_CANCELED when the simulator stops.
 */
export class ScaleSimulator extends EventEmitter<ScaleSimulatorEvents> {
    private model: ScaleModel | undefined;
    private readonly current: ScaleState = { kg: 0, motion: false, overload: false, underload: false };
    /** What physically rests on the deck when no ramp runs, in kg (before zeroing, noise excluded). */
    private restGrossKg = 0;
    /** Set by a zero command: the display shows gross minus this. */
    private zeroOffsetKg = 0;
    /** Set by a tare command: the display shows net, the weight minus this. */
    private tareKg = 0;
    /** Which "about" line the next SMA `B` answers. */
    private aboutLine = 0;
    /** Request models: the command answered again on every tick (SIR, R) until another arrives. */
    private repeating: Uint8Array | undefined;
    private ramp: Ramp | undefined;
    private waiters: StableWaiter[] = [];
    private timer: NodeJS.Timeout | undefined;
    private started = false;
    private framer: StreamFramer | undefined;
    private unsubscribe: Array<() => void> = [];
    private silent = false;
    private corruptPending = 0;
    private partialPending = false;
    private weightFrames = 0;
    /** Frames and answers sent (cut-off ones included, garbage excluded). */
    framesSent = 0;
    /** Host commands received (request models). */
    commandsReceived = 0;

    constructor(private readonly options: ScaleSimulatorOptions) {
        super();
    }

    /** What the indicator shows right now: net of any tare, and where the load lies against the zero range. */
    get state(): Readonly<ScaleState> {
        const range = (this.capacityKg * (this.options.zeroRangePercent ?? 2)) / 100;
        const gross = this.restGrossKg;
        const zeroRange = gross > range ? "above" : gross < -range ? "below" : "within";
        if (this.tareKg === 0) return { ...this.current, zeroRange };
        return { ...this.current, kg: this.current.kg - this.tareKg, tareKg: this.tareKg, zeroRange };
    }

    get link(): ByteLink {
        return this.options.link;
    }

    /** The resolved model; undefined before start(). */
    get scaleModel(): ScaleModel | undefined {
        return this.model;
    }

    get divisionKg(): number {
        return this.options.divisionKg ?? 10;
    }

    get capacityKg(): number {
        return this.options.capacityKg ?? 80_000;
    }

    async start(): Promise<void> {
        if (this.started) return;
        const model = resolveModel("weight", this.options.model);
        const rateHz = this.options.rateHz ?? 10;
        checkPositive("rateHz", rateHz);
        checkPositive("divisionKg", this.divisionKg);
        checkPositive("capacityKg", this.capacityKg);
        if (model.mode === "request" && (!model.respond || !model.commandFramer)) {
            throw new GateError(
                "SIMULATOR_USAGE",
                `model ${model.model} is request-mode but has no respond/commandFramer`,
            );
        }
        this.model = model;
        this.started = true;
        const link = this.options.link;
        this.unsubscribe.push(
            link.onEvent((event) => {
                if (event.type === "disconnected" || event.type === "unplugged") {
                    // Half a command, or a repeat asked for, by a previous host must not carry over to the next.
                    this.framer?.reset();
                    this.repeating = undefined;
                }
                this.emit("link", event);
            }),
        );
        if (model.mode === "request" && model.commandFramer) {
            const framer = new StreamFramer(model.commandFramer);
            this.framer = framer;
            this.unsubscribe.push(
                link.onData((bytes) => {
                    for (const command of framer.push(bytes).frames) this.answer(command);
                }),
            );
        }
        try {
            await link.start();
        } catch (err) {
            this.detach();
            this.started = false;
            throw err;
        }
        this.timer = setInterval(() => this.tick(), 1000 / rateHz);
    }

    /** Stops output, rejects pending stability waits and stops the link. Idempotent. */
    async stop(): Promise<void> {
        clearInterval(this.timer);
        this.timer = undefined;
        this.started = false;
        this.ramp = undefined;
        this.repeating = undefined;
        this.detach();
        const waiters = this.waiters;
        this.waiters = [];
        for (const waiter of waiters) waiter.reject(new GateError("DRIVER_CANCELED", "scale simulator stopped"));
        await this.options.link.stop();
    }

    /**
     * A truck drives on: axles roll on one by one over `rampMs` with bouncing, the motion flag is set,
     * then the deck settles on `grossKg` rounded to the division with motion off.
     * Resolves with the weight the deck settles at (the target, unless another action interrupted).
     */
    driveOn(grossKg: number, options: DriveOptions = {}): Promise<number> {
        checkWeight(grossKg);
        return this.startRamp(grossKg, options.rampMs ?? 4000, options);
    }

    /** The truck drives off: the weight steps down axle by axle to 0. Resolves once the empty deck is stable. */
    driveOff(options: DriveOptions = {}): Promise<void> {
        return forgivingPromise(this.startRamp(0, options.rampMs ?? 3000, options).then(() => undefined));
    }

    /** Shows `kg` (rounded to the division) at once, clearing any ramp. Overload/underload follow from kg. */
    setWeight(kg: number, motion = false): void {
        checkWeight(kg);
        this.ramp = undefined;
        this.restGrossKg = kg + this.zeroOffsetKg;
        this.show(this.restKg, motion);
        if (!motion) this.settled();
    }

    /**
     * The ZERO key (or a host zero command): the display is set to 0 for what rests on the deck now, so a
     * truck that then leaves shows a negative weight. Refused (returns false) while the weight moves and
     * when the load is outside the zero-setting range (a truck on the deck).
     */
    zero(): boolean {
        this.update(performance.now());
        if (this.ramp || this.current.motion || this.state.zeroRange !== "within") return false;
        this.zeroOffsetKg = this.restGrossKg;
        this.show(this.restKg, false);
        this.settled();
        return true;
    }

    /** The TARE key (or a host tare command): the display shows net 0 for what is on it now. Refused in motion or below zero. */
    tare(): boolean {
        this.update(performance.now());
        if (this.ramp || this.current.motion || this.current.kg < 0) return false;
        this.tareKg = this.current.kg;
        return true;
    }

    /** A weight above Max + 9 d: the indicator flags overload. */
    overload(): void {
        this.setWeight(this.capacityKg + 10 * this.divisionKg);
    }

    /** A weight below −20 d: the indicator flags under-zero. */
    underload(): void {
        this.setWeight(-21 * this.divisionKg);
    }

    /** The next `count` weight frames (or weight answers) go out corrupt via model.encode(state, {corrupt: true}). */
    corruptNext(count = 1): void {
        this.corruptPending += count;
    }

    /** The next frame is cut off halfway, as when the line drops mid-frame; the following frames are whole. */
    partialNext(): void {
        this.partialPending = true;
    }

    /** Sends raw line noise: the given bytes, or that many random bytes. Nothing is sent while silent. */
    garbage(bytes: Uint8Array | number = 16): void {
        if (this.silent) return;
        const noise = typeof bytes === "number" ? randomBytes(this.rng, bytes) : bytes;
        this.options.link.write(noise);
    }

    /** Cable unplugged at the indicator while the port stays present: no frames, no answers. */
    silence(on: boolean): void {
        this.silent = on;
    }

    get silenced(): boolean {
        return this.silent;
    }

    /**
     * Resolves with the weight once the scale is stable (at `kg`, rounded to the division, when given).
     * Resolves at once when it already is. Rejected with DRIVER_CANCELED by stop(); a caller that dropped
     * the promise does not get an unhandled rejection.
     */
    whenStable(kg?: number): Promise<number> {
        const want = kg === undefined ? undefined : this.round(kg);
        if (!this.ramp && !this.current.motion && (want === undefined || want === this.restKg)) {
            return Promise.resolve(this.restKg);
        }
        return forgivingPromise(new Promise((resolve, reject) => this.waiters.push({ kg: want, resolve, reject })));
    }

    /** The displayed rest weight: gross minus the zero offset, on the division. */
    private get restKg(): number {
        return this.round(this.restGrossKg - this.zeroOffsetKg);
    }

    private get rng(): Rng {
        return this.options.rng ?? Math.random;
    }

    private detach(): void {
        for (const remove of this.unsubscribe) remove();
        this.unsubscribe = [];
        this.framer = undefined;
    }

    private startRamp(targetKg: number, rampMs: number, options: DriveOptions): Promise<number> {
        const settleMs = options.settleMs ?? 1500;
        checkPositive("rampMs", rampMs);
        if (!(settleMs >= 0)) throw new GateError("SIMULATOR_USAGE", `settleMs must be ≥ 0, got ${settleMs}`);
        // Ramps run in gross kg (what is on the deck); the display subtracts the zero offset.
        const from = this.current.kg + this.zeroOffsetKg;
        const axles = options.axles ?? axlesFor(Math.abs(targetKg - from));
        checkPositive("axles", axles);
        this.ramp = planRamp(from, targetKg, rampMs, settleMs, Math.round(axles), this.rng, performance.now());
        this.show(this.current.kg, true);
        return this.whenStable();
    }

    private tick(): void {
        this.update(performance.now());
        if (this.model?.mode === "continuous") this.sendWeightFrame();
        else if (this.repeating) this.reply(this.repeating);
    }

    /** Moves the display along the ramp (or the rest noise) to time `now`. */
    private update(now: number): void {
        const ramp = this.ramp;
        if (ramp) {
            const t = now - ramp.startedAt;
            if (t >= ramp.rampMs + ramp.settleMs) {
                this.ramp = undefined;
                this.restGrossKg = ramp.to;
                this.show(this.restKg, false);
                this.settled();
            } else {
                this.show(this.round(weightAt(ramp, t) - this.zeroOffsetKg), true);
            }
            return;
        }
        const noise = this.options.noiseDivisions ?? 0;
        if (noise > 0 && !this.current.motion && this.rng() < 0.2) {
            const wander = Math.round((this.rng() * 2 - 1) * noise) * this.divisionKg;
            this.show(this.restKg + wander, false);
        }
    }

    private show(kg: number, motion: boolean): void {
        const wasMoving = this.current.motion;
        this.current.kg = kg;
        this.current.motion = motion;
        this.current.overload = kg > this.capacityKg + 9 * this.divisionKg;
        this.current.underload = kg < -20 * this.divisionKg;
        if (motion && !wasMoving) this.emit("motion", kg);
    }

    private settled(): void {
        const kg = this.restKg;
        this.emit("stable", kg);
        const waiting = this.waiters;
        this.waiters = [];
        for (const waiter of waiting) {
            if (waiter.kg === undefined || waiter.kg === kg) waiter.resolve(kg);
            else this.waiters.push(waiter);
        }
    }

    private round(kg: number): number {
        const d = this.divisionKg;
        // `+ 0` turns -0 into 0 so an empty deck never shows a negative zero.
        return Math.round(kg / d) * d + 0;
    }

    /** Whether this weight frame goes out corrupt: an explicit corruptNext() or every Nth frame. */
    private takeCorrupt(): boolean {
        this.weightFrames++;
        const every = this.options.corruptEvery ?? 0;
        if (this.corruptPending > 0) {
            this.corruptPending--;
            return true;
        }
        return every > 0 && this.weightFrames % every === 0;
    }

    private sendWeightFrame(): void {
        const model = this.model;
        if (!model || this.silent) return;
        // A cut-off frame is lost anyway; spending a pending corruption on it would hide that corruption.
        const corrupt = !this.partialPending && this.takeCorrupt();
        this.transmit(model.encode(this.state, corrupt ? { corrupt: true } : undefined));
    }

    private answer(command: Uint8Array): void {
        this.commandsReceived++;
        this.emit("command", command);
        // Any new command ends a repeat, as on the real indicators.
        this.repeating = undefined;
        if (this.silent) return;
        this.update(performance.now());
        // The model says what the command does; the reply describes the state before it (Z answers
        // "Z A" or the zeroed frame itself).
        const effect = this.model?.effect?.(command, this.state);
        const carriedWeight = this.reply(command);
        switch (effect) {
            case "zero":
                this.zero();
                break;
            case "tare":
                this.tare();
                break;
            case "reset":
                // As after switching on, without a new zero: no tare, no repeat.
                this.tareKg = 0;
                break;
            case "repeat":
                // Only replies that carry a weight are repeated.
                if (carriedWeight) this.repeating = command;
                break;
            case "about-restart":
                this.aboutLine = 0;
                break;
            case "about-next":
                this.aboutLine++;
                break;
        }
    }

    /** Sends the model's answer to `command` for the current state. Returns whether it carried a weight. */
    private reply(command: Uint8Array): boolean {
        const model = this.model;
        if (!model?.respond || this.silent) return false;
        const state = this.state;
        const indicator: IndicatorInfo = {
            serialNumber: this.options.serialNumber ?? "0123456789",
            aboutLine: this.aboutLine,
        };
        const reply = model.respond(command, state, indicator);
        if (!reply) return false;
        const carriesWeight = this.carriesWeight(model, reply);
        // Only answers that carry a weight can be corrupted meaningfully: they are replaced by the model's
        // own corrupt frame so "corrupt" means what the model says it means (bad checksum or bad syntax).
        if (carriesWeight && this.takeCorrupt()) {
            this.transmit(model.encode(state, { corrupt: true }));
        } else {
            this.transmit(reply);
        }
        return carriesWeight;
    }

    private carriesWeight(model: ScaleModel, reply: Uint8Array): boolean {
        const frames = new StreamFramer(model.framer).push(reply).frames;
        return frames.some((frame) => model.decode(frame).status === "reading");
    }

    private transmit(bytes: Uint8Array): void {
        let out = bytes;
        if (this.partialPending) {
            this.partialPending = false;
            out = bytes.subarray(0, Math.max(1, Math.floor(bytes.length / 2)));
        }
        this.options.link.write(out);
        this.framesSent++;
        this.emit("frame", out);
    }
}

/** Typical axle counts of trucks by load: a light rigid truck has 2, a loaded semi-trailer 5–6. */
function axlesFor(loadKg: number): number {
    if (loadKg <= 16_000) return 2;
    if (loadKg <= 24_000) return 3;
    if (loadKg <= 32_000) return 4;
    if (loadKg <= 40_000) return 5;
    return 6;
}

/**
 * Plans the axle steps from `from` to `to`. The steer axle carries less than the others; each load varies
 * ±10 %. Axles arrive between 5 % and 85 % of the ramp, each rolling on over at most 600 ms, so the last
 * one is fully on before the ramp ends.
 */
function planRamp(
    from: number,
    to: number,
    rampMs: number,
    settleMs: number,
    axles: number,
    rng: Rng,
    now: number,
): Ramp {
    const shares = Array.from({ length: axles }, (_, i) => (i === 0 ? 0.6 : 1) * (0.9 + rng() * 0.2));
    const total = shares.reduce((sum, share) => sum + share, 0);
    const rollMs = Math.min(600, rampMs * 0.1);
    const steps = shares.map((share, i) => {
        const at = axles === 1 ? rampMs * 0.05 : rampMs * (0.05 + (0.8 * i) / (axles - 1));
        return { at, delta: ((to - from) * share) / total, rollMs };
    });
    return { startedAt: now, from, to, rampMs, settleMs, steps };
}

/** Raw (undivided) weight `t` ms into a ramp: the axles on so far plus their decaying bounce. */
function weightAt(ramp: Ramp, t: number): number {
    let weight = ramp.from;
    let bounce = 0;
    for (const step of ramp.steps) {
        if (t <= step.at) continue;
        const dt = t - step.at;
        weight += step.delta * Math.min(1, dt / step.rollMs);
        bounce +=
            step.delta *
            OSCILLATION_SHARE *
            Math.exp(-dt / OSCILLATION_DECAY_MS) *
            Math.sin((2 * Math.PI * OSCILLATION_HZ * dt) / 1000);
    }
    if (t > ramp.rampMs && ramp.settleMs > 0) {
        // While settling the bounce fades to nothing, so the last displayed values close in on the target.
        bounce *= 1 - (t - ramp.rampMs) / ramp.settleMs;
    }
    return weight + bounce;
}

function checkPositive(name: string, value: number): void {
    if (!(Number.isFinite(value) && value > 0)) {
        throw new GateError("SIMULATOR_USAGE", `${name} must be a positive number, got ${value}`);
    }
}

function checkWeight(kg: number): void {
    if (!Number.isFinite(kg)) throw new GateError("SIMULATOR_USAGE", `weight must be a finite number of kg, got ${kg}`);
}
