// Builds the CustomResourceDefinition from the zod schema: a structural OpenAPI v3 schema, the
// CEL rules from rules.ts, the status subresource and the printer columns.
import { z } from "zod";
import { rules } from "./rules.ts";
import { GROUP, KIND, PLURAL, PlaylistEpisodes, VERSION, VideoJobSpec, VideoJobStatus } from "./schema.ts";

type Json = { [k: string]: unknown };

/** Makes zod's OpenAPI 3.0 output structural: no $schema, no additionalProperties beside properties. */
function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (node === null || typeof node !== "object") return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === "$schema" || k === "id") continue;
    // record<string,string> becomes additionalProperties: {type: string}, which is structural;
    // `false` next to properties is not (the API server prunes unknown fields anyway).
    if (k === "additionalProperties" && v === false) continue;
    out[k] = structural(v);
  }
  return out;
}

function at(schema: Json, path: string[]): Json {
  let node = schema;
  for (const p of path) {
    const props = node.properties as Record<string, Json> | undefined;
    const next = props?.[p];
    if (!next) throw new Error(`rule path ${path.join(".")} not found in the schema`);
    node = next;
  }
  return node;
}

/**
 * An episodes item may instead be a playlist entry (`- playlist: URL`), which the operator expands
 * (crds playlist.ts). One object with both sets of fields, told apart by CEL: a structural schema
 * takes no oneOf of typed branches. `reverse` has no default here, or every url episode would get one.
 */
function withPlaylistEntries(spec: Json): void {
  const items = at(spec, ["episodes"]).items as Json;
  const entry = structural(z.toJSONSchema(PlaylistEpisodes, { target: "openapi-3.0", io: "input" })) as Json;
  const { reverse, ...fields } = entry.properties as Record<string, Json>;
  const { default: _default, ...reverseField } = reverse ?? {};
  items.properties = { ...(items.properties as Json), ...fields, reverse: reverseField };
  delete items.required;
  items["x-kubernetes-validations"] = [
    { rule: "has(self.url) != has(self.playlist)", message: "an episode has either a url or a playlist" },
    {
      rule: "!has(self.playlist) || !(has(self.title) || has(self.s3) || has(self.subtitles))",
      message: "a playlist entry takes items and reverse only; its episodes are titled as the site lists them",
    },
    {
      rule: "has(self.playlist) || !(has(self.items) || has(self.reverse))",
      message: "items and reverse go with playlist",
    },
  ];
}

export function openApiSchema(): Json {
  const spec = structural(z.toJSONSchema(VideoJobSpec, { target: "openapi-3.0", io: "input" })) as Json;
  withPlaylistEntries(spec);
  const status = structural(z.toJSONSchema(VideoJobStatus, { target: "openapi-3.0", io: "output" })) as Json;
  for (const r of rules) {
    const node = at(spec, r.at);
    const list = (node["x-kubernetes-validations"] as Json[] | undefined) ?? [];
    list.push({ rule: r.cel, message: r.message });
    node["x-kubernetes-validations"] = list;
  }
  return {
    type: "object",
    required: ["spec"],
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
      spec,
      status,
    },
  };
}

export function videoJobCrd(): Json {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${PLURAL}.${GROUP}`,
      labels: { "app.kubernetes.io/name": "reel", "app.kubernetes.io/component": "crd" },
    },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: KIND.toLowerCase(),
        shortNames: ["vj"],
        categories: ["reel"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Phase", type: "string", jsonPath: ".status.phase" },
            { name: "Progress", type: "integer", jsonPath: ".status.progress", description: "Percent done" },
            { name: "Episodes", type: "string", jsonPath: ".status.episodesSummary", description: "Completed/total" },
            { name: "Activity", type: "string", jsonPath: ".status.activity", description: "What the pods do now" },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: { openAPIV3Schema: openApiSchema() },
        },
      ],
    },
  };
}
