/** MQTT fixed header: packet type 1 (CONNECT) with its reserved flags 0. */
const CONNECT_FIRST_BYTE = 0x10;
/** The remaining length is a variable byte integer of at most four bytes (MQTT 3.1.1 §2.2.3). */
const MAX_LENGTH_BYTES = 4;

/**
 * Follows the fixed headers of an MQTT byte stream as its bytes arrive, before any parser buffers a packet:
 * the first packet must be CONNECT (its first byte 0x10), and no packet may declare a remaining length over
 * `maxPacketBytes`. A stranger's socket is thus refused on its first byte or on the length bytes of an
 * oversized packet, before the broker holds any of its body. Pure: it only counts bytes.
 */
export class MqttFrameGuard {
    private atStart = true;
    private readingLength = false;
    private length = 0;
    private lengthBytes = 0;
    private multiplier = 1;
    /** Body bytes of the current packet still to come. */
    private bodyLeft = 0;

    constructor(private readonly maxPacketBytes: number) {}

    /** The next bytes of the stream: undefined while they are acceptable, else why the socket must close. */
    inspect(chunk: Uint8Array): string | undefined {
        let at = 0;
        while (at < chunk.length) {
            if (this.bodyLeft > 0) {
                const skipped = Math.min(this.bodyLeft, chunk.length - at);
                this.bodyLeft -= skipped;
                at += skipped;
                continue;
            }
            const byte = chunk[at++] as number;
            if (!this.readingLength) {
                if (this.atStart && byte !== CONNECT_FIRST_BYTE)
                    return `first packet is not CONNECT (first byte 0x${byte.toString(16).padStart(2, "0")})`;
                this.atStart = false;
                this.readingLength = true;
                this.length = 0;
                this.lengthBytes = 0;
                this.multiplier = 1;
                continue;
            }
            this.length += (byte & 0x7f) * this.multiplier;
            this.multiplier *= 128;
            this.lengthBytes++;
            if (this.length > this.maxPacketBytes)
                return `packet declares at least ${this.length} bytes, over the ${this.maxPacketBytes}-byte limit`;
            if (byte & 0x80) {
                if (this.lengthBytes === MAX_LENGTH_BYTES) return "malformed remaining length";
                continue;
            }
            this.readingLength = false;
            this.bodyLeft = this.length;
        }
        return undefined;
    }
}
