//! MP4 merge without re-encoding.
