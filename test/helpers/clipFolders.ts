import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

/**
 * Tiny users' clip folders for tests of the `frames` dataset kind: grey 8-bit PNG frames written by a minimal encoder
 * (IHDR, one IDAT of unfiltered rows, IEND), frame folders of a square moving one pixel right per frame, and a video
 * made from such a folder by ffmpeg.
 */

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data and the CRC of type and data. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), Buffer.from(data)]);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}

/** An 8-bit grey PNG of `pixels` (row-major [height, width], 0..255). */
export function grayPng(pixels: Uint8Array, width: number, height: number): Buffer {
  if (pixels.length !== width * height) throw new Error(`grayPng: ${pixels.length} pixels, not ${width}x${height}`);
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1); // filter 0
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** Frame t of a clip: a dark (`background`, default 16) `width` x `height` frame with a bright 3x3 square at column
 *  (1 + offset + t) mod width, from row 2. */
export function squareFrame(t: number, width: number, height: number, offset = 0, background = 16): Uint8Array {
  const img = new Uint8Array(width * height).fill(background);
  for (let y = 2; y < Math.min(height, 5); y++) for (let dx = 0; dx < 3; dx++) img[y * width + ((1 + offset + t + dx) % width)] = 240;
  return img;
}

/**
 * A folder of `frames` PNG frames named 1.png .. N.png (numeric order, so 10.png comes after 9.png), each `width` x
 * `height` (a frame's size may be overridden by `sizeOf(t)`). Returns the folder.
 */
export function writeFrameFolder(
  dir: string,
  o: { frames: number; width: number; height: number; offset?: number; background?: number; sizeOf?: (t: number) => [number, number] },
): string {
  mkdirSync(dir, { recursive: true });
  for (let t = 0; t < o.frames; t++) {
    const [w, h] = o.sizeOf?.(t) ?? [o.width, o.height];
    writeFileSync(join(dir, `${t + 1}.png`), grayPng(squareFrame(t, w, h, o.offset, o.background), w, h));
  }
  return dir;
}

/** Whether ffmpeg is on PATH. */
export const hasFfmpeg = (): boolean => spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;

/** Encodes a frame folder of writeFrameFolder (1.png ..) as a lossless video at `out` (ffmpeg, FFV1 in .mkv). */
export function videoFromFrames(framesDir: string, out: string): string {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-framerate', '10', '-i', join(framesDir, '%d.png'), '-c:v', 'ffv1', '-pix_fmt', 'gray', out], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`ffmpeg could not make ${out}: ${r.stderr}`);
  return out;
}
