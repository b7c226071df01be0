// Which company made the GPU behind a DRM render node: its PCI vendor id from sysfs. ffmpeg cannot
// say (VAAPI serves AMD and Intel alike) and a VM's virtio-gpu has a render node but is no GPU.
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";

/** "/dev/dri/renderD128" -> "0x8086"; undefined when sysfs is not readable (no /sys in the container). */
export async function renderNodeVendor(renderNode: string, sysfs = "/sys/class/drm"): Promise<string | undefined> {
  try {
    return (await readFile(join(sysfs, basename(renderNode), "device", "vendor"), "utf8")).trim();
  } catch {
    return undefined;
  }
}

export async function renderNodeVendors(
  renderNodes: string[],
  read: (node: string) => Promise<string | undefined> = renderNodeVendor,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const node of renderNodes) {
    const id = await read(node);
    if (id !== undefined) out[node] = id;
  }
  return out;
}
