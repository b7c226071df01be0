export { freePort, start, waitFor } from "./proc.ts";
export { type RedisServer, startRedis } from "./redis.ts";
export { type S3Server, startS3 } from "./s3.ts";
export { type PostgresServer, startPostgres } from "./postgres.ts";
