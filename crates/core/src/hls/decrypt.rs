//! AES-128 (CBC, PKCS#7) segment decryption, streamed from a spool file in blocks of 1 MiB: no
//! copy of the whole segment in memory.

use std::io::{Read, Write};

#[cfg(test)]
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{generic_array::GenericArray, BlockDecryptMut, KeyIvInit};

use crate::error::{ErrorCode, ReelError, Result};

type Decryptor = cbc::Decryptor<aes::Aes128>;

/// The IV when the key tag has none: the media sequence number as a 128-bit big-endian integer.
pub(crate) fn sequence_iv(seq: u64) -> [u8; 16] {
    (seq as u128).to_be_bytes()
}

fn bad() -> ReelError {
    ReelError::new(
        ErrorCode::HlsInvalid,
        "segment does not decrypt with its key (bad length or padding)",
    )
}

/// Decrypts `len` bytes from `input` into `out`; answers the plaintext length. The padding is
/// checked and cut from the last block only, so everything before it streams through.
pub(crate) fn decrypt_stream(
    input: &mut impl Read,
    len: u64,
    out: &mut impl Write,
    key: &[u8; 16],
    iv: &[u8; 16],
) -> Result<u64> {
    if len == 0 || !len.is_multiple_of(16) {
        return Err(bad());
    }
    let mut dec = Decryptor::new(key.into(), iv.into());
    let mut buf = vec![0u8; 1 << 20];
    let (mut left, mut plain) = (len, 0u64);
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        input.read_exact(&mut buf[..n])?;
        left -= n as u64;
        for block in buf[..n].chunks_exact_mut(16) {
            dec.decrypt_block_mut(GenericArray::from_mut_slice(block));
        }
        let keep = if left == 0 {
            let pad = buf[n - 1] as usize;
            if pad == 0 || pad > 16 || buf[n - pad..n].iter().any(|&b| b as usize != pad) {
                return Err(bad());
            }
            n - pad
        } else {
            n
        };
        out.write_all(&buf[..keep])?;
        plain += keep as u64;
    }
    Ok(plain)
}

#[cfg(test)]
fn decrypt_in_place(data: &mut Vec<u8>, key: &[u8; 16], iv: &[u8; 16]) -> Result<()> {
    let len = Decryptor::new(key.into(), iv.into())
        .decrypt_padded_mut::<Pkcs7>(data)
        .map_err(|_| {
            ReelError::new(
                ErrorCode::HlsInvalid,
                "segment does not decrypt with its key (bad length or padding)",
            )
        })?
        .len();
    data.truncate(len);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockEncryptMut;

    #[test]
    fn round_trips_and_rejects_wrong_keys() {
        let key = [7u8; 16];
        let iv = sequence_iv(42);
        assert_eq!(iv[15], 42);
        let plain = b"some transport stream bytes".to_vec();
        let enc = cbc::Encryptor::<aes::Aes128>::new(&key.into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(&plain);
        let mut buf = enc.clone();
        decrypt_in_place(&mut buf, &key, &iv).unwrap();
        assert_eq!(buf, plain);
        let mut buf = enc;
        assert!(decrypt_in_place(&mut buf, &[8u8; 16], &iv).is_err());
    }

    #[test]
    fn streams_across_buffer_boundaries_like_the_whole_segment() {
        let key = [3u8; 16];
        let iv = sequence_iv(7);
        // Over 1 MiB and a multiple of 16 once padded: the padding lands in the second buffer.
        let plain: Vec<u8> = (0..(1 << 20) + 4000).map(|i| (i * 31 % 251) as u8).collect();
        let enc = cbc::Encryptor::<aes::Aes128>::new(&key.into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(&plain);
        let mut out = Vec::new();
        let n = decrypt_stream(&mut enc.as_slice(), enc.len() as u64, &mut out, &key, &iv).unwrap();
        assert_eq!(n as usize, plain.len());
        assert_eq!(out, plain);
        let mut out = Vec::new();
        assert!(decrypt_stream(&mut enc.as_slice(), enc.len() as u64, &mut out, &[4u8; 16], &iv).is_err());
    }
}
