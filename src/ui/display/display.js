// The lane display's kiosk page: follows its lane's display message over Server-Sent Events and shows it
// in Vietnamese, Chinese and English. Whatever goes wrong (the gate stops, is killed, the network drops,
// nothing arrives for SILENT_MS) it shows the STOP message the page was served with, and it reconnects by
// itself, for as long as it is open. Every text is set with textContent, never parsed as HTML.

const SILENT_MS = 15_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 5_000;

const body = document.body;
const lane = body.dataset.lane ?? "";
const token = new URLSearchParams(location.search).get("token") ?? "";
const plate = document.getElementById("plate");
const sections = [...document.querySelectorAll("section.language")];
/** The STOP message the gate rendered into the page, as [language, title, instruction]. */
const fallback = sections.map((section) => [
    section.dataset.language,
    section.querySelector(".title")?.textContent ?? "",
    section.querySelector(".instruction")?.textContent ?? "",
]);

let source;
let watchdog;
let retryMs = RETRY_MIN_MS;

function show(signal, plateText, linesOf) {
    body.dataset.signal = signal;
    if (plate) {
        plate.hidden = !plateText;
        plate.textContent = plateText ?? "";
    }
    for (const section of sections) {
        const [title, instruction] = linesOf(section.dataset.language);
        const titleNode = section.querySelector(".title");
        const instructionNode = section.querySelector(".instruction");
        if (titleNode) titleNode.textContent = title;
        if (instructionNode) instructionNode.textContent = instruction;
    }
}

function showFallback() {
    body.dataset.connected = "false";
    show("stop", null, (language) => {
        const found = fallback.find(([of]) => of === language);
        return found ? [found[1], found[2]] : ["", ""];
    });
}

function heard() {
    clearTimeout(watchdog);
    watchdog = setTimeout(lost, SILENT_MS);
}

function lost() {
    clearTimeout(watchdog);
    source?.close();
    source = undefined;
    showFallback();
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
}

function connect() {
    if (source) return;
    const url = `/display/${encodeURIComponent(lane)}/stream?token=${encodeURIComponent(token)}`;
    source = new EventSource(url);
    heard();
    source.addEventListener("display", (event) => {
        let message;
        try {
            message = JSON.parse(event.data);
        } catch {
            return;
        }
        if (message.lane !== lane) return;
        retryMs = RETRY_MIN_MS;
        body.dataset.connected = "true";
        heard();
        show(message.signal, message.plate, (language) => message.lines?.[language] ?? ["", ""]);
    });
    source.addEventListener("ping", heard);
    // EventSource retries by itself on some errors and gives up on others (a 403, a proxy's 502): the page
    // retries every time, with its own backoff, and shows STOP meanwhile.
    source.addEventListener("error", lost);
}

showFallback();
connect();
