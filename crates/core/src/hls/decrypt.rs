//! AES-128 (CBC, PKCS#7) segment decryption, in place: no second copy of the segment.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};

use crate::error::{ErrorCode, ReelError, Result};

type Decryptor = cbc::Decryptor<aes::Aes128>;

/// The IV when the key tag has none: the media sequence number as a 128-bit big-endian integer.
pub(crate) fn sequence_iv(seq: u64) -> [u8; 16] {
    (seq as u128).to_be_bytes()
}

pub(crate) fn decrypt_in_place(data: &mut Vec<u8>, key: &[u8; 16], iv: &[u8; 16]) -> Result<()> {
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
}
