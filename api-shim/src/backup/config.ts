// The settings of `reel-shim admin backup|restore`, parsed once from the environment (the chart's
// backup CronJob sets them; the database comes from the shim's own DATABASE_URL).
import { z } from "zod";

const BackupConfigSchema = z.object({
  /** S3 endpoint of the backup bucket; unset: AWS. Path-style addressing when set (MinIO, versitygw). */
  REEL_BACKUP_S3_ENDPOINT: z.url().optional(),
  REEL_BACKUP_S3_REGION: z.string().min(1).default("us-east-1"),
  /** Keys of the backup bucket (from a Secret); both unset: the SDK's chain (IRSA, instance role). */
  REEL_BACKUP_S3_ACCESS_KEY_ID: z.string().default(""),
  REEL_BACKUP_S3_SECRET_ACCESS_KEY: z.string().default(""),
  /** Backups kept under the prefix after each one (the newest). */
  REEL_BACKUP_KEEP: z.coerce.number().int().min(1).default(7),
  /** Directory of pg_dump and pg_restore; "" looks them up on PATH. */
  REEL_BACKUP_PG_BIN: z.string().default(""),
  PATH: z.string().default("/usr/local/bin:/usr/bin:/bin"),
});

export type BackupConfig = z.infer<typeof BackupConfigSchema>;

export function parseBackupConfig(env: NodeJS.ProcessEnv): BackupConfig {
  return BackupConfigSchema.parse(env);
}
