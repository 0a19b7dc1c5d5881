import { Writable } from "node:stream";

/** What a command given `{ stdout, stderr }` writers prints, for its output to be checked after it ran. */
export function captureIo() {
    const text = { out: "", err: "" };
    return {
        io: {
            stdout: {
                write(chunk: string) {
                    text.out += chunk;
                },
            },
            stderr: {
                write(chunk: string) {
                    text.err += chunk;
                },
            },
        },
        out: () => text.out,
        err: () => text.err,
    };
}

/** A Writable that keeps what is written to it, for commands that take node streams. */
export function captureStream(): { stream: Writable; text(): string } {
    const chunks: string[] = [];
    const stream = new Writable({
        write(chunk, _encoding, callback) {
            chunks.push(String(chunk));
            callback();
        },
    });
    return { stream, text: () => chunks.join("") };
}
