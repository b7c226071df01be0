// Reads an MP4's top-level boxes from their headers, enough to tell whether moov comes
// before mdat (faststart: a player can start before the whole file arrives).
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

export function topLevelBoxes(path) {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(16);
    const boxes = [];
    for (let off = 0; off + 8 <= size; ) {
      readSync(fd, head, 0, 16, off);
      let boxSize = head.readUInt32BE(0);
      const type = head.toString("latin1", 4, 8);
      if (boxSize === 1) boxSize = Number(head.readBigUInt64BE(8));
      else if (boxSize === 0) boxSize = size - off;
      if (boxSize < 8) throw new Error(`${path}: bad box size ${boxSize} at ${off}`);
      boxes.push({ type, offset: off, size: boxSize });
      off += boxSize;
    }
    return boxes;
  } finally {
    closeSync(fd);
  }
}

export function moovBeforeMdat(path) {
  const types = topLevelBoxes(path).map((b) => b.type);
  const moov = types.indexOf("moov");
  const mdat = types.indexOf("mdat");
  return moov >= 0 && mdat >= 0 && moov < mdat;
}
