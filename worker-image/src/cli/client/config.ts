// The client's configuration, parsed once from the environment: which server and key override the
// stored credentials, and where the credentials file lives (XDG base directory spec).
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

const ClientEnv = z.object({
  REEL_SERVER: z.string().trim().min(1).optional(),
  REEL_API_KEY: z.string().trim().min(1).optional(),
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  XDG_CONFIG_HOME: z
    .string()
    .optional()
    .transform((v) => (v?.startsWith("/") ? v : undefined)),
  HOME: z.string().min(1).optional(),
});

export interface ClientConfig {
  server?: string;
  apiKey?: string;
  /** `$XDG_CONFIG_HOME/reel`, by default `~/.config/reel`. */
  configDir: string;
}

export function parseClientEnv(env: NodeJS.ProcessEnv): ClientConfig {
  const e = ClientEnv.parse(env);
  const base = e.XDG_CONFIG_HOME ?? join(e.HOME ?? homedir(), ".config");
  return {
    ...(e.REEL_SERVER ? { server: e.REEL_SERVER } : {}),
    ...(e.REEL_API_KEY ? { apiKey: e.REEL_API_KEY } : {}),
    configDir: join(base, "reel"),
  };
}
