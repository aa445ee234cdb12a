//! Acquisition: disk images and physical memory, hashed while they stream.
//!
//! * [`source`] opens what is imaged — a block device (`O_RDONLY|O_NOATIME|O_CLOEXEC`, never
//!   writable) or a regular file — and records its facts (size, sector size, model, serial).
//! * [`engine`] copies it with large aligned reads on one thread while every hash and the writer run
//!   on their own; a read error is retried, then bisected down to the sector; unreadable sectors are
//!   zero-filled and listed in the error map.
//! * [`sink`] writes the image: plain `dd`-compatible raw bytes or one standard zstd frame, optionally
//!   split into numbered parts, each output file hashed. Raw output goes to disk with `O_DIRECT`
//!   (no second copy through the page cache); buffered output has its writeback paced as it goes.
//! * [`verify`] re-reads the source and the image and compares the hashes.
//! * [`memory`] writes physical memory as LiME from `/dev/crash`, `/proc/kcore` or `/dev/mem`, and
//!   when the kernel refuses, says exactly which source failed and why.
//! * [`capture`] records network traffic as pcapng through an `AF_PACKET` socket ([`pcapng`]
//!   writes the file), with a small natively compiled filter subset and kernel drop counts.
//!
//! Nothing here prints or reads the clock; callers get values and progress callbacks.

pub mod capture;
pub mod engine;
pub mod error;
pub mod hash;
pub mod memory;
mod packet_socket;
pub mod pcapng;
pub mod sink;
pub mod size;
pub mod source;
pub mod verify;

pub use engine::{AcquireOptions, Acquired, BadRange, Progress, ReadAt, acquire};
pub use error::Error;
pub use hash::Algorithm;
pub use sink::{OutputFile, SinkOptions};
pub use source::{Source, SourceKind};
