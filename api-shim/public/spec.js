// From the create form's values to the API's create body, and from the API's validation details
// back to the form's fields. Pure functions (no DOM), tested in Node.

/**
 * Episodes as lines `URL | title` (the title is optional; blank lines and lines starting with # are
 * skipped). `lines[i]` is the 1-based line of episode i, to point at it when the API refuses it.
 * A URL cannot contain a bare `|` (it must be %7C), so the first `|` ends it; the title may have more.
 * @param {string} text
 */
export function parseEpisodes(text) {
  const episodes = [];
  const lines = [];
  String(text ?? "")
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith("#")) return;
      const bar = line.indexOf("|");
      const url = (bar < 0 ? line : line.slice(0, bar)).trim();
      const title = bar < 0 ? "" : line.slice(bar + 1).trim();
      episodes.push(title ? { url, title } : { url });
      lines.push(i + 1);
    });
  return { episodes, lines };
}

/** Tags typed with commas or spaces between them. */
export function parseTags(text) {
  return [
    ...new Set(
      String(text ?? "")
        .split(/[\s,]+/)
        .filter(Boolean),
    ),
  ];
}

/**
 * @param {{ name?: string, episodes: string, quality: string, codec: string, preset: string,
 *   level: string, gpuPolicy: string, gpuVendor?: string, merge: boolean, chapters: boolean,
 *   allowPartial: boolean, bucket: string, prefix?: string, endpoint?: string,
 *   credentialsSecret: string, tags?: string }} v the form's values, as strings and booleans
 * @returns {{ body: { name?: string, spec: object }, lines: number[] }}
 */
export function buildCreateBody(v) {
  const { episodes, lines } = parseEpisodes(v.episodes);
  const level = v.level === "" || v.level === undefined ? undefined : Number(v.level);
  const s3 = {
    bucket: v.bucket.trim(),
    prefix: (v.prefix ?? "").trim(),
    credentialsSecret: v.credentialsSecret.trim(),
  };
  if (v.endpoint?.trim()) s3.endpoint = v.endpoint.trim();
  const spec = {
    episodes,
    quality: v.quality,
    codec: v.codec,
    compression: { preset: v.preset, ...(level === undefined ? {} : { level }) },
    gpu: { policy: v.gpuPolicy, ...(v.gpuVendor ? { vendor: v.gpuVendor } : {}) },
    merge: { enabled: v.merge, chapters: v.chapters, allowPartial: v.allowPartial },
    output: { s3 },
    tags: parseTags(v.tags),
  };
  const name = v.name?.trim();
  return { body: name ? { name, spec } : { spec }, lines };
}

/**
 * A detail's path as segments, whatever its spelling: ["spec","episodes",0,"url"],
 * "spec.episodes.0.url", "spec.episodes[0].url" or a JSON pointer "/spec/episodes/0/url".
 * @param {unknown} path
 * @returns {(string | number)[]}
 */
export function pathSegments(path) {
  const raw = Array.isArray(path)
    ? path.map(String)
    : String(path ?? "")
        .replace(/\[(\d+)\]/g, ".$1")
        .split(/[./]/);
  return raw.filter((s) => s !== "").map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

// The form field (its element id) each part of the body is entered in.
const fields = [
  [["name"], "name"],
  [["spec", "episodes"], "episodes"],
  [["spec", "quality"], "quality"],
  [["spec", "codec"], "codec"],
  [["spec", "compression", "preset"], "preset"],
  [["spec", "compression", "level"], "level"],
  [["spec", "compression"], "preset"],
  [["spec", "gpu", "vendor"], "gpu-vendor"],
  [["spec", "gpu"], "gpu-policy"],
  [["spec", "merge", "allowPartial"], "allow-partial"],
  [["spec", "merge", "chapters"], "chapters"],
  [["spec", "merge"], "merge"],
  [["spec", "output", "s3", "bucket"], "bucket"],
  [["spec", "output", "s3", "prefix"], "prefix"],
  [["spec", "output", "s3", "endpoint"], "endpoint"],
  [["spec", "output", "s3", "credentialsSecret"], "credentials-secret"],
  [["spec", "output"], "bucket"],
  [["spec", "tags"], "tags"],
];

/**
 * Where to show a validation detail: the field's id (undefined: the form as a whole) and the message
 * to show there, naming the episode line or the tag when the path points into a list.
 * @param {{ path: unknown, message: string }} detail
 * @param {number[]} lines episode index -> line in the episodes box
 */
export function placeDetail(detail, lines = []) {
  const segs = pathSegments(detail.path);
  // Paths from the spec schema alone (no leading "spec") are read as inside it.
  if (segs.length && segs[0] !== "spec" && segs[0] !== "name") segs.unshift("spec");
  const message = String(detail.message ?? "is invalid");
  for (const [prefix, field] of fields) {
    if (!prefix.every((p, i) => segs[i] === p)) continue;
    const rest = segs.slice(prefix.length);
    if (field === "episodes" && typeof rest[0] === "number") {
      const line = lines[rest[0]] ?? rest[0] + 1;
      const what = typeof rest[1] === "string" ? ` ${rest[1]}` : "";
      return { field, message: `Line ${line}${what}: ${message}` };
    }
    if (field === "tags" && typeof rest[0] === "number") return { field, message: `Tag ${rest[0] + 1}: ${message}` };
    const where = rest.length ? `${rest.join(".")}: ` : "";
    return { field, message: `${where}${message}` };
  }
  return { field: undefined, message: segs.length ? `${segs.join(".")}: ${message}` : message };
}
