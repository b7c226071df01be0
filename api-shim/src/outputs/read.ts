// Reading a small text object from a job's bucket (a seek-thumbnail index, a subtitle file): what
// the bucket holds is bounded in size before it is trusted, and a missing object is a 404.
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from "@aws-sdk/client-s3";
import { ReelError } from "@reel/crds";
import { RequestError } from "../api/errors.ts";

/**
 * The text of `bucket/key`, described as `what` in errors: REEL_NOT_FOUND when it is not there,
 * REEL_MEDIA_LIMITS (502) past `maxBytes`, REEL_UNAVAILABLE when the store fails.
 */
export async function readObjectText(
  client: S3Client,
  at: { bucket: string; key: string },
  what: string,
  maxBytes: number,
): Promise<string> {
  const where = `s3://${at.bucket}/${at.key}`;
  const tooLarge = () =>
    new RequestError("REEL_MEDIA_LIMITS", `${what} ${where} is larger than ${maxBytes} bytes`, undefined, 502);
  let res: GetObjectCommandOutput;
  try {
    res = await client.send(new GetObjectCommand({ Bucket: at.bucket, Key: at.key }));
  } catch (cause) {
    const name = (cause as Error).name;
    if (name === "NoSuchKey" || name === "NotFound") {
      throw new ReelError("REEL_NOT_FOUND", `${what} ${where} is not in the bucket`, { cause });
    }
    throw new RequestError("REEL_UNAVAILABLE", `reading ${where} failed (${name}); try again shortly`);
  }
  const body = res.Body as
    | (AsyncIterable<Uint8Array> & { destroy?: () => void; on?: (event: "error", listener: () => void) => unknown })
    | undefined;
  // Left unread, the body is dropped with its error handled: closing the client aborts its socket.
  const drop = () => {
    body?.on?.("error", () => {});
    body?.destroy?.();
    return tooLarge();
  };
  if ((res.ContentLength ?? 0) > maxBytes) throw drop();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body ?? []) {
    size += chunk.length;
    // A length the store did not announce is bounded too: stop reading past the limit.
    if (size > maxBytes) throw drop();
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString("utf8");
}
