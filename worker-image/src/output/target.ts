// Where finished files go. Each target stores a local file under a name and answers where it went.
export interface StoredObject {
  /** s3://bucket/key, pvc://claim/path or an absolute local path. */
  location: string;
  url?: string;
  urlExpiresAt?: string;
  sizeBytes: number;
  /** sha256:<hex>, verified by the backend where it can (S3 checksums). */
  checksum: string;
}

export interface PutOptions {
  contentType?: string;
  /** sha256 hex of the file, computed once by the caller. */
  sha256: string;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface OutputTarget {
  put(localPath: string, name: string, opts: PutOptions): Promise<StoredObject>;
}
