import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

/** CRC-32 of PNG chunks (polynomial 0xEDB88320). */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** An 8-bit grey PNG of `w` x `h` (no filtering), pixel (x, y) = value(x, y) in 0..255. */
export function grayPng(w: number, h: number, value: (x: number, y: number) => number): Buffer {
  const raw = Buffer.alloc(h * (w + 1));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw[y * (w + 1) + 1 + x] = value(x, y) & 0xff;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A folder of `frames` PNG frames (0001.png ...) of a bright bar `w` x `h`: across (horizontal bar moving down)
 * or along (vertical bar moving right), so the two are easy classes. `size(t)` may vary a frame's size.
 */
export function writeBarFrames(dir: string, o: { frames: number; bar: 'across' | 'along'; offset?: number; size?: (t: number) => number }): void {
  mkdirSync(dir, { recursive: true });
  for (let t = 0; t < o.frames; t++) {
    const s = o.size?.(t) ?? 16;
    const p = (t + (o.offset ?? 0)) % s;
    const png = grayPng(s, s, (x, y) => ((o.bar === 'across' ? y : x) === p ? 255 : 20));
    writeFileSync(join(dir, `${String(t + 1).padStart(4, '0')}.png`), png);
  }
}

/** A short video made by ffmpeg from its test source (`frames` frames of 16x16, MPEG-4 in AVI). */
export function writeTestVideo(path: string, frames: number): void {
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=16x16:rate=${frames}:duration=1`, '-c:v', 'mpeg4', path]);
}
