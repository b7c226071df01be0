//! Copies each input's sample data into the output as large sequential pieces. `std::io::copy`
//! between files uses copy_file_range on Linux (in-kernel, reflinks where the filesystem can).
//! Pieces are a few MiB so progress is smooth and cancellation prompt.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};

use reel_core::{ErrorCode, ReelError, Result};

pub const PIECE: u64 = 8 << 20;

pub type Progress<'a> = Option<&'a (dyn Fn(u64, u64) + Sync)>;

pub fn cancelled(cancel: Option<&AtomicBool>) -> Result<()> {
    if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
        return Err(ReelError::new(ErrorCode::Cancelled, "merge cancelled"));
    }
    Ok(())
}

pub struct Copier<'a> {
    pub done: u64,
    pub total: u64,
    pub progress: Progress<'a>,
    pub cancel: Option<&'a AtomicBool>,
}

impl Copier<'_> {
    pub fn copy(&mut self, src: &mut File, offset: u64, len: u64, dst: &mut File) -> Result<()> {
        src.seek(SeekFrom::Start(offset))?;
        let mut left = len;
        while left > 0 {
            cancelled(self.cancel)?;
            let piece = left.min(PIECE);
            let n = std::io::copy(&mut Read::by_ref(src).take(piece), dst)?;
            if n != piece {
                return Err(ReelError::new(
                    ErrorCode::MergeInvalidInput,
                    format!("input shrank while merging: {} bytes missing", left - n),
                ));
            }
            left -= n;
            self.advance(n);
        }
        Ok(())
    }

    /// Counts `n` bytes written (copied, or written by the merge itself) and reports progress.
    pub fn advance(&mut self, n: u64) {
        self.done += n;
        if let Some(p) = self.progress {
            p(self.done, self.total);
        }
    }
}
