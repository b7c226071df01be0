//! File checksums without reading the file into memory: BLAKE3 over a memory map (multi-threaded),
//! SHA-256 over a fixed 1 MiB buffer.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use sha2::Digest;

use crate::error::{ErrorCode, ReelError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Blake3,
    Sha256,
}

impl std::str::FromStr for HashAlgorithm {
    type Err = ReelError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "blake3" => Ok(Self::Blake3),
            "sha256" | "sha-256" => Ok(Self::Sha256),
            other => Err(ReelError::new(
                ErrorCode::InvalidArgument,
                format!("unknown hash algorithm {other:?}; use blake3 or sha256"),
            )),
        }
    }
}

/// A checksum as written in options and reports: `blake3:<hex>` or `sha256:<hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: HashAlgorithm,
    pub hex: String,
}

impl Checksum {
    pub fn parse(s: &str) -> Result<Self> {
        let (alg, hex) = s.split_once(':').ok_or_else(|| {
            ReelError::new(
                ErrorCode::InvalidArgument,
                format!("checksum {s:?} must look like sha256:<hex> or blake3:<hex>"),
            )
        })?;
        let algorithm: HashAlgorithm = alg.parse()?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ReelError::new(
                ErrorCode::InvalidArgument,
                format!("checksum {s:?}: expected 64 hex digits"),
            ));
        }
        Ok(Self {
            algorithm,
            hex: hex.to_ascii_lowercase(),
        })
    }
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let alg = match self.algorithm {
            HashAlgorithm::Blake3 => "blake3",
            HashAlgorithm::Sha256 => "sha256",
        };
        write!(f, "{alg}:{}", self.hex)
    }
}

/// Hashes a file; memory use is bounded (a map for BLAKE3, 1 MiB for SHA-256) whatever its size.
pub fn hash_file(path: &Path, algorithm: HashAlgorithm) -> Result<Checksum> {
    let hex = match algorithm {
        HashAlgorithm::Blake3 => {
            let mut h = blake3::Hasher::new();
            h.update_mmap_rayon(path)?;
            h.finalize().to_hex().to_string()
        }
        HashAlgorithm::Sha256 => {
            let mut f = File::open(path)?;
            let mut h = sha2::Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            hex::encode(h.finalize())
        }
    };
    Ok(Checksum { algorithm, hex })
}

/// Verifies a file against an expected checksum, failing with `REEL_CHECKSUM_MISMATCH`.
pub fn verify_file(path: &Path, expected: &Checksum) -> Result<()> {
    let got = hash_file(path, expected.algorithm)?;
    if got.hex != expected.hex {
        return Err(ReelError::new(
            ErrorCode::ChecksumMismatch,
            format!("expected {expected}, got {got}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn known_vectors_for_abc() {
        let dir = std::env::temp_dir().join(format!("reel-hash-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("abc");
        std::fs::File::create(&p).unwrap().write_all(b"abc").unwrap();
        assert_eq!(
            hash_file(&p, HashAlgorithm::Sha256).unwrap().hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hash_file(&p, HashAlgorithm::Blake3).unwrap().hex,
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parse_rejects_bad_checksums() {
        assert!(Checksum::parse("md5:abc").is_err());
        assert!(Checksum::parse("sha256:zz").is_err());
        assert!(Checksum::parse("nocolon").is_err());
        let c = Checksum::parse(&format!("SHA256:{}", "A".repeat(64))).unwrap();
        assert_eq!(c.to_string(), format!("sha256:{}", "a".repeat(64)));
    }
}
