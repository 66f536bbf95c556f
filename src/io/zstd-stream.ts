/**
 * Streaming Zstandard decompression in pure JavaScript (fzstd): Node 20's zlib has no zstd,
 * and a native binding would need a build step. Memory stays at the decoder's window, not
 * the file size. Concatenated frames (as `zstd` writes for multi-part input) are decoded in turn.
 */
import { Decompress } from 'fzstd';

export async function* zstdDecompress(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  const decoder = new Decompress((data) => {
    out.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  for await (const chunk of chunks) {
    decoder.push(chunk);
    while (out.length > 0) yield out.shift() as Buffer;
  }
  decoder.push(new Uint8Array(0), true);
  while (out.length > 0) yield out.shift() as Buffer;
}
