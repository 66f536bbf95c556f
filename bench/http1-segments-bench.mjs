// Client CPU to read one large answer that arrives in many small TCP segments, as a remote
// endpoint's does (loopback hands over 64 KiB reads; a WAN link ~1.4 KiB ones). Run after
// `npm run build`:
//   node bench/http1-segments-bench.mjs [sizesMB=1,5] [segment=1400]
// The server (in this process, 127.0.0.1) writes the answer in `segment`-byte writes, one per
// event-loop turn, so the client sees about one `data` event per segment; it prints the
// client's CPU ms per answer for a Content-Length body and a chunked one (one chunk per segment).
import net from 'node:net';
import { HttpPoster } from '../dist/llm/http-post.js';

const sizes = (process.argv[2] ?? '1,5').split(',').map(Number);
const segment = Number(process.argv[3] ?? 1400);

function answer(sizeMb, chunked) {
  const body = Buffer.from(JSON.stringify({ choices: [{ message: { content: 'x'.repeat(sizeMb * 1024 * 1024) } }] }));
  const parts = [];
  if (chunked) {
    parts.push(Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n'));
    for (let at = 0; at < body.length; at += segment) {
      const piece = body.subarray(at, at + segment);
      parts.push(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
  } else {
    const whole = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`), body]);
    for (let at = 0; at < whole.length; at += segment) parts.push(whole.subarray(at, at + segment));
  }
  return parts;
}

let parts = [];
const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  socket.once('data', async () => {
    for (const part of parts) {
      socket.write(part);
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = new URL(`http://127.0.0.1:${server.address().port}/v1/chat/completions`);

for (const sizeMb of sizes) {
  for (const chunked of [false, true]) {
    parts = answer(sizeMb, chunked);
    const poster = new HttpPoster('bench/1');
    const cpu = process.cpuUsage();
    const started = Date.now();
    const result = await poster.post(url, '{}', {}, new AbortController().signal);
    const used = process.cpuUsage(cpu);
    poster.close();
    // The server's writes share this process: its share is about one write per segment.
    console.log(`${sizeMb} MB ${chunked ? 'chunked' : 'content-length'} in ${parts.length} segments: ${((used.user + used.system) / 1000).toFixed(0)} ms CPU (server's writes included), ${Date.now() - started} ms wall, ${result.text.length} chars`);
  }
}
server.close();
