/**
 * Radiation portal monitor reporting in ANSI/IEEE N42.42-2011/2012 (namespace
 * http://physics.nist.gov/N42/2011/N42), one document per occupancy (docs/devices.md "Inspection area").
 * The RPM's lane computer writes each document as a file into a folder gate-edge watches.
 *
 * A gross-counting RPM (NIST's Annex D example: four gamma and two neutron detectors named by the DNDO
 * convention Aa1, Ba1 …, Aa1N; 100 ms time slices, pre-, during and post-occupancy) reports:
 * - RadInstrumentInformation: manufacturer, model, identifier, class code "Portal Monitor" (or
 *   "Spectroscopic Portal Monitor"); any other class is invalid for this model;
 * - RadDetectorInformation per detector: id and RadDetectorCategoryCode Gamma or Neutron (other categories
 *   are not counted);
 * - RadMeasurement per time slice: MeasurementClassCode (Background or Foreground), StartDateTime,
 *   RealTimeDuration, GrossCounts per detector (CountData: one count per energy window, summed here),
 *   OccupancyIndicator, RadItemState/StateVector/SpeedValue (units m/s unless the attribute says km/h),
 *   RadInstrumentState/Fault and RadDetectorState/Fault;
 * - AnalysisResults: RadAlarm (RadAlarmCategoryCode, radDetectorInformationReferences), Nuclide
 *   (NuclideIdentifiedIndicator, NuclideName, NuclideCategoryDescription), Fault.
 *
 * Decode rules (the file comes from a share other machines write to, so all is checked; never throws):
 * - at most MAX_DOCUMENT_BYTES, UTF-8, no DOCTYPE (no entities beyond the five predefined), bounded depth
 *   and element count (devices/lib/xml.ts); root RadInstrumentData in the N42 2011 namespace;
 * - a document with an occupied slice (OccupancyIndicator true) is an occupancy → a reading; one with
 *   measurements but no occupied slice is the RPM's background and state report → `background`, which the
 *   gate turns into device health (faults, background level), not into a reading; none at all → ignored;
 * - CountData must be non-negative numbers, durations xs:duration > 0; a GrossCounts naming a detector the
 *   document does not describe is invalid;
 * - the occupancy's id is n42DocUUID (a UUID), else the first occupied measurement's id;
 * - assessment: no RadAlarm → clear; alarms whose every named nuclide (identified or categorised) is
 *   NORM (naturally occurring radioactive material: ceramics, fertiliser, granite, the common nuisance)
 *   → nuisance; any other alarm → alarm (a neutron alarm is never a nuisance);
 * - observedAt is the first occupied slice's StartDateTime when it carries a zone.
 */

import type { RadiationDetectorCounts, RadiationValues } from "../src/core/events.ts";
import {
    attribute,
    childNamed,
    childrenNamed,
    descendantsNamed,
    escapeXml,
    parseDuration,
    parseXml,
    parseZonedDateTime,
    type XmlElement,
} from "./lib/xml.ts";
import type { DecodeResult, FolderEntry, RadiationPortalModel, RpmDocument, RpmFault, RpmReport } from "./types.ts";

export const N42_NS = "http://physics.nist.gov/N42/2011/N42";
/** A 60 s occupancy at 100 ms slices with six detectors is ~0.5 MB; a file beyond this is no occupancy. */
const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
/** Slices kept per detector in the reading (60 s at 100 ms); the peak is taken over all of them. */
const MAX_SLICES_KEPT = 600;
const MAX_TEXT = 128;
const PORTAL_CLASSES = new Set(["Portal Monitor", "Spectroscopic Portal Monitor"]);
const UUID = /^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$/;
const NORM = /\bNORM\b|naturally occurring/i;
const NUMBER = /^[+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

type Decoded = DecodeResult<RpmDocument> & { observedAt?: number };

function invalid(reason: string): Decoded {
    return { status: "invalid", reason };
}

/** Text of a child in the N42 namespace, trimmed. */
function text(element: XmlElement | undefined, local: string): string | undefined {
    if (!element) return undefined;
    return childNamed(element, local, N42_NS)?.text.trim();
}

/** A short printable string as sent (control characters and markup dropped), or undefined when empty. */
function label(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
    const clean = value.replace(/[\u0000-\u001f\u007f-\u009f<>]/g, "").trim();
    return clean === "" ? undefined : clean.slice(0, MAX_TEXT);
}

function isTrue(value: string | undefined): boolean {
    return value === "true" || value === "1";
}

/** CountData: a list of non-negative numbers (one per energy window), summed; undefined when malformed. */
function countSum(value: string): number | undefined {
    const tokens = value.trim().split(/\s+/).filter(Boolean);
    if (tokens.length === 0) return undefined;
    let sum = 0;
    for (const token of tokens) {
        if (!NUMBER.test(token)) return undefined;
        const n = Number(token);
        if (!Number.isFinite(n)) return undefined;
        sum += n;
    }
    return sum;
}

const SEVERITIES: Readonly<Record<string, RpmFault["severity"]>> = {
    Fatal: "fatal",
    Error: "error",
    Warning: "warning",
};

function faultsOf(parent: XmlElement | undefined, detector?: string): RpmFault[] | string {
    if (!parent) return [];
    const faults: RpmFault[] = [];
    for (const fault of childrenNamed(parent, "Fault", N42_NS)) {
        const code = label(text(fault, "FaultCodeValue"));
        const severity = SEVERITIES[text(fault, "FaultSeverityCode") ?? ""];
        if (!code || !severity) return "Fault without FaultCodeValue or with an unknown FaultSeverityCode";
        faults.push({
            code,
            severity,
            description: label(text(fault, "FaultDescription")) ?? code,
            ...(detector !== undefined && { detector }),
        });
    }
    return faults;
}

interface Slice {
    id: string;
    background: boolean;
    start: string | undefined;
    seconds: number;
    occupied: boolean;
    counts: Map<string, number>;
    speedKmh: number | undefined;
}

function speedOf(measurement: XmlElement): number | undefined | "bad" {
    for (const state of childrenNamed(measurement, "RadItemState", N42_NS)) {
        const speed = childNamed(childNamed(state, "StateVector", N42_NS) ?? state, "SpeedValue", N42_NS);
        if (!speed) continue;
        const raw = speed.text.trim();
        if (!NUMBER.test(raw)) return "bad";
        const units = (attribute(speed, "units") ?? "m/s").trim().toLowerCase();
        const kmh = units === "km/h" || units === "kph" ? Number(raw) : units === "m/s" ? Number(raw) * 3.6 : undefined;
        if (kmh === undefined || !Number.isFinite(kmh)) return "bad";
        return Math.round(kmh * 10) / 10;
    }
    return undefined;
}

function decodeDocument(xml: string): Decoded {
    const parsed = parseXml(xml);
    if (!parsed.ok) return invalid(`not well-formed XML: ${parsed.reason}`);
    const root = parsed.root;
    if (root.local !== "RadInstrumentData" || root.ns !== N42_NS)
        return invalid(`root is <${root.name.slice(0, 40)}>, not N42 2011 RadInstrumentData`);

    const info = childNamed(root, "RadInstrumentInformation", N42_NS);
    const manufacturer = label(text(info, "RadInstrumentManufacturerName"));
    const model = label(text(info, "RadInstrumentModelName"));
    const classCode = text(info, "RadInstrumentClassCode");
    if (!info || !manufacturer || !model) return invalid("RadInstrumentInformation lacks manufacturer or model");
    if (!classCode || !PORTAL_CLASSES.has(classCode))
        return invalid(`instrument class ${label(classCode) ?? "(none)"} is not a portal monitor`);
    const serial = label(text(info, "RadInstrumentIdentifier"));

    const detectors = new Map<string, "gamma" | "neutron">();
    for (const det of childrenNamed(root, "RadDetectorInformation", N42_NS)) {
        const id = attribute(det, "id");
        const category = text(det, "RadDetectorCategoryCode");
        if (!id) return invalid("RadDetectorInformation without an id");
        if (category === "Gamma") detectors.set(id, "gamma");
        else if (category === "Neutron") detectors.set(id, "neutron");
    }
    if (detectors.size === 0) return invalid("no gamma or neutron detector is described");

    const faults: RpmFault[] = [];
    const addFaults = (found: RpmFault[] | string): string | undefined => {
        if (typeof found === "string") return found;
        faults.push(...found);
        return undefined;
    };
    const slices: Slice[] = [];
    for (const m of childrenNamed(root, "RadMeasurement", N42_NS)) {
        const id = attribute(m, "id") ?? `M${slices.length + 1}`;
        const realTime = parseDuration(text(m, "RealTimeDuration") ?? "");
        if (realTime === undefined || realTime <= 0)
            return invalid(`measurement ${label(id)}: RealTimeDuration is not a duration > 0`);
        const counts = new Map<string, number>();
        for (const gc of childrenNamed(m, "GrossCounts", N42_NS)) {
            const ref = attribute(gc, "radDetectorInformationReference") ?? "";
            if (!detectors.has(ref)) {
                if (childrenNamed(root, "RadDetectorInformation", N42_NS).some((d) => attribute(d, "id") === ref))
                    continue;
                return invalid(
                    `measurement ${label(id)}: GrossCounts of undescribed detector ${label(ref) ?? "(none)"}`,
                );
            }
            const sum = countSum(text(gc, "CountData") ?? "");
            if (sum === undefined)
                return invalid(`measurement ${label(id)}: CountData of ${ref} is not a list of counts`);
            counts.set(ref, (counts.get(ref) ?? 0) + sum);
        }
        const speed = speedOf(m);
        if (speed === "bad") return invalid(`measurement ${label(id)}: SpeedValue is not a speed`);
        const problem =
            addFaults(faultsOf(childNamed(m, "RadInstrumentState", N42_NS))) ??
            childrenNamed(m, "RadDetectorState", N42_NS)
                .map((state) => addFaults(faultsOf(state, attribute(state, "radDetectorInformationReference"))))
                .find((p) => p !== undefined);
        if (problem) return invalid(`measurement ${label(id)}: ${problem}`);
        slices.push({
            id,
            background: text(m, "MeasurementClassCode") === "Background",
            start: text(m, "StartDateTime"),
            seconds: realTime / 1000,
            occupied: isTrue(text(m, "OccupancyIndicator")),
            counts,
            speedKmh: speed,
        });
    }
    if (slices.length === 0) return { status: "ignored", reason: "document has no measurement" };

    const alarms: { category: string; detectors: string[] }[] = [];
    const nuclides: RadiationValues["nuclides"] = [];
    for (const results of childrenNamed(root, "AnalysisResults", N42_NS)) {
        for (const alarm of childrenNamed(results, "RadAlarm", N42_NS)) {
            const category = label(text(alarm, "RadAlarmCategoryCode"));
            if (!category) return invalid("RadAlarm without RadAlarmCategoryCode");
            alarms.push({
                category: category.toLowerCase(),
                detectors: (attribute(alarm, "radDetectorInformationReferences") ?? "").split(/\s+/).filter(Boolean),
            });
        }
        for (const nuclide of descendantsNamed(results, "Nuclide", N42_NS)) {
            const name = label(text(nuclide, "NuclideName"));
            if (!name) return invalid("Nuclide without NuclideName");
            const category = label(text(nuclide, "NuclideCategoryDescription"));
            nuclides.push({
                name,
                identified: isTrue(text(nuclide, "NuclideIdentifiedIndicator")),
                ...(category !== undefined && { category }),
            });
        }
        const problem = addFaults(faultsOf(results));
        if (problem) return invalid(problem);
    }

    const background = slices.filter((s) => s.background);
    const backgroundCps = new Map<string, number>();
    for (const id of detectors.keys()) {
        const seconds = background.reduce((t, s) => t + (s.counts.has(id) ? s.seconds : 0), 0);
        const counts = background.reduce((t, s) => t + (s.counts.get(id) ?? 0), 0);
        if (seconds > 0) backgroundCps.set(id, Math.round((counts / seconds) * 10) / 10);
    }
    const occupied = slices.filter((s) => s.occupied);
    if (occupied.length === 0) {
        return {
            status: "reading",
            values: { type: "background", backgroundCps: Object.fromEntries(backgroundCps), faults },
        };
    }

    const uuid = attribute(root, "n42DocUUID");
    const occupancyId = uuid !== undefined && UUID.test(uuid) ? uuid.toLowerCase() : label(occupied[0]?.id);
    if (!occupancyId) return invalid("occupancy has neither n42DocUUID nor a measurement id");
    const foreground = slices.filter((s) => !s.background);
    const perDetector: RadiationDetectorCounts[] = [...detectors].map(([detector, category]) => {
        const peak = Math.max(0, ...occupied.map((s) => (s.counts.get(detector) ?? 0) / s.seconds));
        const bg = backgroundCps.get(detector);
        return {
            detector,
            category,
            ...(bg !== undefined && { backgroundCps: bg }),
            peakCps: Math.round(peak * 10) / 10,
            slices: foreground.slice(0, MAX_SLICES_KEPT).map((s) => s.counts.get(detector) ?? 0),
        };
    });
    const alarmed = alarms.length > 0;
    const named = nuclides.filter((n) => n.identified || n.category !== undefined);
    const norm = named.length > 0 && named.every((n) => NORM.test(n.category ?? "") || NORM.test(n.name));
    const neutron = alarms.some((a) => a.category === "neutron");
    const speed = occupied.find((s) => s.speedKmh !== undefined)?.speedKmh;
    const values: RadiationValues = {
        occupancyId,
        alarm: alarmed,
        assessment: !alarmed ? "clear" : norm && !neutron ? "nuisance" : "alarm",
        alarmCategories: [...new Set(alarms.map((a) => a.category))],
        nuclides,
        occupiedSeconds: Math.round(occupied.reduce((t, s) => t + s.seconds, 0) * 10) / 10,
        ...(speed !== undefined && { speedKmh: speed }),
        detectors: perDetector,
        faults: faults.map(({ code, severity, description }) => ({ code, severity, description })),
        instrument: { manufacturer, model, ...(serial !== undefined && { serial }) },
    };
    const observedAt = parseZonedDateTime(occupied[0]?.start);
    return {
        status: "reading",
        values: { type: "occupancy", values },
        ...(observedAt !== undefined && { observedAt }),
    };
}

function decode(entry: FolderEntry): Decoded {
    const bytes = entry.files.get(entry.name);
    if (!bytes) return invalid(`file ${label(entry.name) ?? "(unnamed)"} is missing`);
    if (bytes.byteLength > MAX_DOCUMENT_BYTES) return invalid(`document over ${MAX_DOCUMENT_BYTES} bytes`);
    let xml: string;
    try {
        xml = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
        return invalid("document is not UTF-8");
    }
    return decodeDocument(xml);
}

// ---------------------------------------------------------------------------------------------------
// encode (simulators/rpm.ts)

/** xs:duration of a whole number of milliseconds. */
function duration(ms: number): string {
    return `PT${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : ms % 100 === 0 ? 1 : 3)}S`;
}

function faultXml(fault: RpmFault, indent: string): string {
    const severity = fault.severity[0]?.toUpperCase() + fault.severity.slice(1);
    return `${indent}<Fault>\n${indent}  <FaultCodeValue>${escapeXml(fault.code)}</FaultCodeValue>\n${indent}  <FaultDescription>${escapeXml(fault.description)}</FaultDescription>\n${indent}  <FaultSeverityCode>${severity}</FaultSeverityCode>\n${indent}</Fault>\n`;
}

function encode(report: RpmReport): FolderEntry {
    const iso = (at: number) => new Date(at).toISOString().replace(/\.000Z$/, "Z");
    const lines: string[] = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        `<RadInstrumentData xmlns="${N42_NS}" n42DocUUID="${escapeXml(report.uuid)}">`,
        '  <RadInstrumentInformation id="RadInstrumentInformation-1">',
        `    <RadInstrumentManufacturerName>${escapeXml(report.instrument.manufacturer)}</RadInstrumentManufacturerName>`,
        `    <RadInstrumentIdentifier>${escapeXml(report.instrument.serial)}</RadInstrumentIdentifier>`,
        `    <RadInstrumentModelName>${escapeXml(report.instrument.model)}</RadInstrumentModelName>`,
        "    <RadInstrumentClassCode>Portal Monitor</RadInstrumentClassCode>",
        "    <RadInstrumentVersion>",
        "      <RadInstrumentComponentName>Software</RadInstrumentComponentName>",
        "      <RadInstrumentComponentVersion>gate-edge simulator 1</RadInstrumentComponentVersion>",
        "    </RadInstrumentVersion>",
        "  </RadInstrumentInformation>",
    ];
    for (const det of report.detectors) {
        const gamma = det.category === "gamma";
        lines.push(
            `  <RadDetectorInformation id="${escapeXml(det.id)}">`,
            `    <RadDetectorCategoryCode>${gamma ? "Gamma" : "Neutron"}</RadDetectorCategoryCode>`,
            `    <RadDetectorKindCode>${gamma ? "PVT" : "He3"}</RadDetectorKindCode>`,
            "  </RadDetectorInformation>",
        );
    }
    lines.push(
        '  <RadItemInformation id="Occupant">',
        "    <RadItemDescription>vehicle</RadItemDescription>",
        "  </RadItemInformation>",
    );
    const detectorFaults = report.faults.filter((f) => f.detector !== undefined);
    const instrumentFaults = report.faults.filter((f) => f.detector === undefined);
    const states = (indent: string): string =>
        (instrumentFaults.length > 0
            ? `${indent}<RadInstrumentState radInstrumentInformationReference="RadInstrumentInformation-1">\n${instrumentFaults.map((f) => faultXml(f, `${indent}  `)).join("")}${indent}</RadInstrumentState>\n`
            : "") +
        detectorFaults
            .map(
                (f) =>
                    `${indent}<RadDetectorState radDetectorInformationReference="${escapeXml(f.detector ?? "")}">\n${faultXml(f, `${indent}  `)}${indent}</RadDetectorState>\n`,
            )
            .join("");
    const start = report.start.getTime();
    const backgroundMs = 60_000;
    const measurement = (
        id: string,
        cls: "Background" | "Foreground",
        at: number,
        ms: number,
        counts: readonly number[],
        extra: string,
    ): string =>
        `  <RadMeasurement id="${id}">\n    <MeasurementClassCode>${cls}</MeasurementClassCode>\n    <StartDateTime>${iso(at)}</StartDateTime>\n    <RealTimeDuration>${duration(ms)}</RealTimeDuration>\n${report.detectors
            .map(
                (det, i) =>
                    `    <GrossCounts id="${id}-${escapeXml(det.id)}" radDetectorInformationReference="${escapeXml(det.id)}">\n      <LiveTimeDuration>${duration(ms)}</LiveTimeDuration>\n      <CountData>${Math.max(0, Math.round(counts[i] ?? 0))}</CountData>\n    </GrossCounts>\n`,
            )
            .join("")}${extra}  </RadMeasurement>`;
    const bgCounts = report.backgroundCps.map((cps) => (cps * backgroundMs) / 1000);
    lines.push(
        measurement(
            "Background",
            "Background",
            start - backgroundMs,
            backgroundMs,
            bgCounts,
            report.slices.length === 0 ? states("    ") : "",
        ),
    );
    report.slices.forEach((slice, index) => {
        const speed =
            slice.occupied && report.speedKmh !== undefined
                ? `    <RadItemState radItemInformationReference="Occupant">\n      <StateVector>\n        <SpeedValue units="m/s">${(report.speedKmh / 3.6).toFixed(2)}</SpeedValue>\n      </StateVector>\n    </RadItemState>\n`
                : "";
        const faults = index === 0 ? states("    ") : "";
        lines.push(
            measurement(
                `Slice${index + 1}`,
                "Foreground",
                start + index * report.sliceMs,
                report.sliceMs,
                slice.counts,
                `${faults}${speed}    <OccupancyIndicator>${slice.occupied}</OccupancyIndicator>\n`,
            ),
        );
    });
    if (report.slices.length > 0) {
        const refs = report.slices.map((_, i) => `Slice${i + 1}`).join(" ");
        lines.push(`  <AnalysisResults radMeasurementReferences="${refs}">`);
        lines.push("    <AnalysisAlgorithmName>gross count threshold</AnalysisAlgorithmName>");
        for (const alarm of report.alarms) {
            lines.push(
                `    <RadAlarm radDetectorInformationReferences="${alarm.detectors.map(escapeXml).join(" ")}">`,
                `      <RadAlarmCategoryCode>${alarm.category}</RadAlarmCategoryCode>`,
                ...(alarm.description
                    ? [`      <RadAlarmDescription>${escapeXml(alarm.description)}</RadAlarmDescription>`]
                    : []),
                "    </RadAlarm>",
            );
        }
        if (report.nuclides.length > 0) {
            lines.push("    <NuclideAnalysisResults>");
            for (const n of report.nuclides) {
                lines.push(
                    "      <Nuclide>",
                    `        <NuclideIdentifiedIndicator>${n.identified}</NuclideIdentifiedIndicator>`,
                    `        <NuclideName>${escapeXml(n.name)}</NuclideName>`,
                    "        <NuclideIDConfidenceDescription>Medium</NuclideIDConfidenceDescription>",
                    ...(n.category
                        ? [`        <NuclideCategoryDescription>${escapeXml(n.category)}</NuclideCategoryDescription>`]
                        : []),
                    "      </Nuclide>",
                );
            }
            lines.push("    </NuclideAnalysisResults>");
        }
        lines.push("  </AnalysisResults>");
    }
    lines.push("</RadInstrumentData>", "");
    const name = `${report.slices.length > 0 ? "occupancy" : "background"}-${report.uuid}.n42`;
    return { name, files: new Map([[name, new TextEncoder().encode(lines.join("\n"))]]) };
}

export const definition: RadiationPortalModel = {
    model: "n42-rpm",
    vendor: "ANSI/IEEE N42.42 (any vendor)",
    description: "Radiation portal monitor: an N42.42 document per occupancy dropped into a watched folder",
    kind: "radiation",
    transport: "folder",
    layout: { type: "file", suffix: ".n42" },
    maxEntryBytes: MAX_DOCUMENT_BYTES,
    // An RPM measures background without pause and its lane computer writes a background report every
    // minute or so between occupancies: five minutes without a document is no slow report.
    silentAfterMs: 300_000,
    decode,
    encode,
};
