/** Bytes → text one byte per character (ISO 8859-1), so no byte is lost or merged as UTF-8 decoding would. */
export function latin1(bytes: Uint8Array): string {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}
