//! The control file `<dest>.reel-ctl`: what a later run needs to resume `<dest>.part` safely.
//! Written to a temp file and renamed, so a kill at any moment leaves the old or the new version,
//! never a torn one. Anything that does not parse or does not match is discarded, not trusted.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::ranges::RangeSet;

pub(crate) const CTL_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Control {
    pub version: u32,
    /// The URL without secrets, for people reading the file.
    pub url: String,
    /// SHA-256 of the full URL: the identity check, without storing tokens in the clear.
    pub url_sha256: String,
    pub total: u64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Finished `[start, end)` ranges of `.part`.
    pub done: Vec<(u64, u64)>,
}

pub(crate) fn url_key(url: &str) -> String {
    hex::encode(sha2::Sha256::digest(url.as_bytes()))
}

pub(crate) fn part_path(dest: &Path) -> PathBuf {
    with_suffix(dest, ".part")
}

pub(crate) fn ctl_path(dest: &Path) -> PathBuf {
    with_suffix(dest, ".reel-ctl")
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

impl Control {
    /// Loads a control file that belongs to this URL and whose `.part` has the recorded size.
    /// Returns `None` (and the caller starts clean) for anything else.
    pub fn load_valid(ctl: &Path, part: &Path, url: &str) -> Option<Control> {
        let text = std::fs::read(ctl).ok()?;
        let c: Control = serde_json::from_slice(&text).ok()?;
        if c.version != CTL_VERSION || c.url_sha256 != url_key(url) {
            return None;
        }
        // Without a validator the source cannot be shown unchanged, so old bytes cannot be reused.
        if c.etag.is_none() && c.last_modified.is_none() {
            return None;
        }
        if c.done.iter().any(|&(a, b)| a > b || b > c.total) {
            return None;
        }
        let len = std::fs::metadata(part).ok()?.len();
        if len != c.total {
            return None;
        }
        Some(c)
    }

    pub fn done_set(&self) -> RangeSet {
        RangeSet::from_ranges(self.done.iter().copied())
    }

    /// Atomically replaces the control file. Not fsynced: it protects against a killed process
    /// (the page cache survives), and syncing per chunk would cost more than a rare refetch.
    pub fn store(&self, ctl: &Path) -> std::io::Result<()> {
        let tmp = with_suffix(ctl, ".tmp");
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, ctl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_only_matching_intact_control_files() {
        let dir = std::env::temp_dir().join(format!("reel-ctl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("f.bin");
        let (ctl, part) = (ctl_path(&dest), part_path(&dest));
        std::fs::write(&part, vec![0u8; 100]).unwrap();
        let c = Control {
            version: CTL_VERSION,
            url: "http://h/f".into(),
            url_sha256: url_key("http://h/f?sig=1"),
            total: 100,
            etag: Some("\"a\"".into()),
            last_modified: None,
            done: vec![(0, 40)],
        };
        c.store(&ctl).unwrap();
        assert_eq!(
            Control::load_valid(&ctl, &part, "http://h/f?sig=1"),
            Some(c.clone())
        );
        assert_eq!(Control::load_valid(&ctl, &part, "http://h/other"), None);
        std::fs::write(&part, vec![0u8; 99]).unwrap();
        assert_eq!(Control::load_valid(&ctl, &part, "http://h/f?sig=1"), None);
        std::fs::write(&part, vec![0u8; 100]).unwrap();
        std::fs::write(&ctl, b"{\"version\":1,\"url\":").unwrap();
        assert_eq!(Control::load_valid(&ctl, &part, "http://h/f?sig=1"), None);
        let mut bad = c.clone();
        bad.done = vec![(0, 400)];
        bad.store(&ctl).unwrap();
        assert_eq!(Control::load_valid(&ctl, &part, "http://h/f?sig=1"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
