#!/usr/bin/env node
// Renders the PNG app icons (192 and 512 px) the manifest lists, from the same geometry as
// public/icon.svg, with no image dependency: each pixel is supersampled against the shapes and the
// result written as an RGBA PNG with node:zlib. Run after changing the icon: node scripts/icons.mjs
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'public');
const BLUE = [0x1f, 0x6f, 0xeb];
const WHITE = [255, 255, 255];

function inRoundRect(x, y, x0, y0, x1, y1, r) {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

function inTail(x, y) {
  // Triangle (160,362) (236,362) (160,424) in the 512 grid.
  if (x < 160 || y < 362) return false;
  return (x - 160) / 76 + (y - 362) / 62 <= 1;
}

/** The colour of one point of the 512×512 design, or null outside the icon. */
function shade(x, y) {
  if (!inRoundRect(x, y, 0, 0, 512, 512, 112)) return null;
  const bubble = inRoundRect(x, y, 88, 150, 424, 362, 40) || inTail(x, y);
  if (!bubble) return BLUE;
  for (const cx of [186, 256, 326]) if ((x - cx) ** 2 + (y - 256) ** 2 <= 24 * 24) return BLUE;
  return WHITE;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buffer) {
  let c = 0xffffffff;
  for (const byte of buffer) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function render(size) {
  const samples = 4;
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let py = 0; py < size; py++) {
    raw[py * (size * 4 + 1)] = 0; // filter: none
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const x = ((px + (sx + 0.5) / samples) / size) * 512;
          const y = ((py + (sy + 0.5) / samples) / size) * 512;
          const colour = shade(x, y);
          if (colour === null) continue;
          r += colour[0]; g += colour[1]; b += colour[2]; a += 1;
        }
      }
      const offset = py * (size * 4 + 1) + 1 + px * 4;
      raw[offset] = a === 0 ? 0 : Math.round(r / a);
      raw[offset + 1] = a === 0 ? 0 : Math.round(g / a);
      raw[offset + 2] = a === 0 ? 0 : Math.round(b / a);
      raw[offset + 3] = Math.round((a / (samples * samples)) * 255);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

for (const size of [192, 512]) writeFileSync(join(out, `icon-${size}.png`), render(size));
console.log('icons written to', out);
