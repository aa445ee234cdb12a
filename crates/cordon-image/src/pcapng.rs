//! A minimal pcapng writer (draft-ietf-opsawg-pcapng): one Section Header Block, one Interface
//! Description Block with nanosecond timestamps, Enhanced Packet Blocks, and a closing Interface
//! Statistics Block. Little-endian, as the byte-order magic says. SHA-256 of every byte written is
//! computed while writing.

use std::io::{self, Write};

use sha2::{Digest as _, Sha256};

/// `LINKTYPE_ETHERNET`.
pub const LINKTYPE_ETHERNET: u16 = 1;
/// `LINKTYPE_LINUX_SLL`: the 16-byte Linux "cooked" header (what `tcpdump -i any` writes).
pub const LINKTYPE_LINUX_SLL: u16 = 113;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const ISB: u32 = 0x0000_0005;
const EPB: u32 = 0x0000_0006;

/// Direction of a packet (the `epb_flags` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received by this host.
    Inbound,
    /// Sent by this host.
    Outbound,
}

/// Counters for the closing Interface Statistics Block.
#[derive(Debug, Clone, Copy, Default)]
pub struct InterfaceStats {
    /// Time of the statistics, ns since the Unix epoch.
    pub time_ns: u64,
    /// Packets the kernel delivered to the socket (`isb_ifrecv`).
    pub received: u64,
    /// Packets the kernel dropped for lack of buffer (`isb_ifdrop`).
    pub dropped: u64,
    /// Packets accepted by the filter and written (`isb_filteraccept`).
    pub accepted: u64,
}

/// Writes pcapng to `W`, hashing what it writes.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    hash: Sha256,
    written: u64,
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

fn option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_le_bytes());
    body.extend_from_slice(value.get(..usize::from(u16::MAX)).unwrap_or(value));
    body.extend(std::iter::repeat_n(0u8, pad4(value.len())));
}

fn end_of_options(body: &mut Vec<u8>) {
    body.extend_from_slice(&[0, 0, 0, 0]);
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a section and describes its one interface.
    pub fn new(out: W, application: &str, interface: &str, linktype: u16, snaplen: u32) -> io::Result<Self> {
        let mut w = PcapngWriter {
            out,
            hash: Sha256::new(),
            written: 0,
        };
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        option(&mut shb, 4, application.as_bytes()); // shb_userappl
        end_of_options(&mut shb);
        w.block(SHB, &shb)?;
        let mut idb = Vec::new();
        idb.extend_from_slice(&linktype.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&snaplen.to_le_bytes());
        option(&mut idb, 2, interface.as_bytes()); // if_name
        option(&mut idb, 9, &[9]); // if_tsresol: 10^-9
        end_of_options(&mut idb);
        w.block(IDB, &idb)?;
        Ok(w)
    }

    fn block(&mut self, kind: u32, body: &[u8]) -> io::Result<()> {
        let total = u32::try_from(body.len() + 12)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pcapng block too large"))?;
        let mut block = Vec::with_capacity(body.len() + 12);
        block.extend_from_slice(&kind.to_le_bytes());
        block.extend_from_slice(&total.to_le_bytes());
        block.extend_from_slice(body);
        block.extend_from_slice(&total.to_le_bytes());
        self.out.write_all(&block)?;
        self.hash.update(&block);
        self.written += block.len() as u64;
        Ok(())
    }

    /// Writes one packet: `data` is what was captured, `original` its length on the wire.
    pub fn packet(&mut self, ts_ns: u64, data: &[u8], original: usize, dir: Direction) -> io::Result<()> {
        let cap = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let orig = u32::try_from(original).unwrap_or(u32::MAX);
        let mut epb = Vec::with_capacity(data.len() + 40);
        epb.extend_from_slice(&0u32.to_le_bytes()); // interface 0
        epb.extend_from_slice(&((ts_ns >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts_ns as u32).to_le_bytes());
        epb.extend_from_slice(&cap.to_le_bytes());
        epb.extend_from_slice(&orig.to_le_bytes());
        epb.extend_from_slice(data);
        epb.extend(std::iter::repeat_n(0u8, pad4(data.len())));
        let flags: u32 = match dir {
            Direction::Inbound => 1,
            Direction::Outbound => 2,
        };
        option(&mut epb, 2, &flags.to_le_bytes()); // epb_flags: direction
        end_of_options(&mut epb);
        self.block(EPB, &epb)
    }

    /// Writes the statistics block and returns the writer, the SHA-256 (hex) and the size.
    pub fn finish(mut self, stats: &InterfaceStats) -> io::Result<(W, String, u64)> {
        let mut isb = Vec::new();
        isb.extend_from_slice(&0u32.to_le_bytes());
        isb.extend_from_slice(&((stats.time_ns >> 32) as u32).to_le_bytes());
        isb.extend_from_slice(&(stats.time_ns as u32).to_le_bytes());
        option(&mut isb, 4, &stats.received.to_le_bytes()); // isb_ifrecv
        option(&mut isb, 5, &stats.dropped.to_le_bytes()); // isb_ifdrop
        option(&mut isb, 6, &stats.accepted.to_le_bytes()); // isb_filteraccept
        end_of_options(&mut isb);
        self.block(ISB, &isb)?;
        self.out.flush()?;
        Ok((self.out, hex::encode(self.hash.finalize()), self.written))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_and_lengths_repeat() {
        let mut w = PcapngWriter::new(Vec::new(), "cordon test", "eth0", LINKTYPE_ETHERNET, 65535).unwrap();
        w.packet(
            1_700_000_000_123_456_789,
            &[1, 2, 3, 4, 5],
            60,
            Direction::Inbound,
        )
        .unwrap();
        let (bytes, sha, size) = w.finish(&InterfaceStats::default()).unwrap();
        assert_eq!(size as usize, bytes.len());
        assert_eq!(sha, hex::encode(Sha256::digest(&bytes)));
        let mut off = 0;
        let mut kinds = Vec::new();
        while off < bytes.len() {
            let kind = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap());
            let len = u32::from_le_bytes(bytes[off + 4..off + 8].try_into().unwrap()) as usize;
            assert_eq!(len % 4, 0);
            let trailer = u32::from_le_bytes(bytes[off + len - 4..off + len].try_into().unwrap()) as usize;
            assert_eq!(len, trailer);
            kinds.push(kind);
            off += len;
        }
        assert_eq!(kinds, vec![SHB, IDB, EPB, ISB]);
    }
}
