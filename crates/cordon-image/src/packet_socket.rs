//! The one place in this crate that talks to the kernel through raw `libc` calls: an `AF_PACKET`
//! socket (see packet(7)) opened, bound to one interface or to all of them, read with `recvfrom`, and
//! asked for its kernel timestamp (`SIOCGSTAMPNS`) and counters (`PACKET_STATISTICS`). `rustix` has no
//! `sockaddr_ll` and no packet-socket options, so these few calls are written here, each behind a
//! `// SAFETY:` comment, and everything above this module is safe code.

#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};

/// `ETH_P_ALL` in network byte order: every protocol.
const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();
/// `PACKET_STATISTICS` (linux/if_packet.h).
const PACKET_STATISTICS: libc::c_int = 6;
/// `SIOCGSTAMPNS` (linux/sockios.h): the receive time of the last packet read, in nanoseconds.
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;
/// `PACKET_OUTGOING`: a packet this host sent.
pub(crate) const PACKET_OUTGOING: u8 = 4;

/// `struct tpacket_stats`.
#[repr(C)]
#[derive(Default)]
struct TpacketStats {
    tp_packets: libc::c_uint,
    tp_drops: libc::c_uint,
}

/// What `recvfrom` says about one packet besides its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received {
    /// Bytes copied into the buffer.
    pub(crate) captured: usize,
    /// The packet's length on the wire (`MSG_TRUNC`).
    pub(crate) original: usize,
    /// `sll_pkttype`: host, broadcast, multicast, other host, outgoing.
    pub(crate) pkttype: u8,
    /// `sll_hatype`: the ARPHRD type of the interface it was seen on.
    pub(crate) hatype: u16,
    /// `sll_protocol` as it is on the wire (big-endian bytes).
    pub(crate) protocol_be: [u8; 2],
    /// The link-layer source address (`sll_addr`, `sll_halen` bytes of it meaningful).
    pub(crate) addr: [u8; 8],
    /// `sll_halen`.
    pub(crate) halen: u8,
}

/// An open packet socket.
#[derive(Debug)]
pub(crate) struct PacketSocket {
    fd: OwnedFd,
}

fn zeroed_sockaddr_ll() -> libc::sockaddr_ll {
    libc::sockaddr_ll {
        sll_family: 0,
        sll_protocol: 0,
        sll_ifindex: 0,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    }
}

/// The index of the interface called `name`.
pub(crate) fn interface_index(name: &str) -> io::Result<u32> {
    let c = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; the function only reads it.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(index)
    }
}

impl PacketSocket {
    /// Opens a packet socket: `SOCK_RAW` (link-layer header kept) or `SOCK_DGRAM` (cooked), bound to
    /// `ifindex` (0 = every interface). The socket is created with protocol 0, so that it queues
    /// nothing until the bind names the interface and `ETH_P_ALL`.
    pub(crate) fn open(raw: bool, ifindex: u32) -> io::Result<PacketSocket> {
        let kind = if raw { libc::SOCK_RAW } else { libc::SOCK_DGRAM };
        // SAFETY: plain system call with integer arguments; the result is checked before use.
        let fd = unsafe { libc::socket(libc::AF_PACKET, kind | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a freshly created descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut addr = zeroed_sockaddr_ll();
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = ETH_P_ALL_BE;
        addr.sll_ifindex =
            i32::try_from(ifindex).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `addr` is a valid, initialised `sockaddr_ll` and the length passed is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(PacketSocket { fd })
    }

    /// The ARPHRD type of the interface the socket is bound to (`getsockname`).
    pub(crate) fn bound_hatype(&self) -> io::Result<u16> {
        let mut addr = zeroed_sockaddr_ll();
        let mut len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `addr` is writable for `len` bytes and `len` is a valid in/out length.
        let rc = unsafe {
            libc::getsockname(
                self.fd.as_raw_fd(),
                (&raw mut addr).cast::<libc::sockaddr>(),
                &raw mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(addr.sll_hatype)
    }

    /// Sets the receive timeout (`SO_RCVTIMEO`) so that the capture loop can check its deadline.
    pub(crate) fn set_timeout(&self, millis: u32) -> io::Result<()> {
        let tv = libc::timeval {
            tv_sec: libc::time_t::from(millis / 1000),
            tv_usec: libc::suseconds_t::from((millis % 1000) * 1000),
        };
        self.setsockopt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)
    }

    /// Asks for a larger kernel receive buffer (`SO_RCVBUF`); the kernel caps it at `rmem_max`.
    pub(crate) fn set_buffer(&self, bytes: u32) -> io::Result<()> {
        let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        self.setsockopt(libc::SOL_SOCKET, libc::SO_RCVBUF, &v)
    }

    fn setsockopt<T>(&self, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
        // SAFETY: `value` points to a live, initialised `T` and the length passed is its size.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (value as *const T).cast::<libc::c_void>(),
                size_of::<T>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Reads one packet into `buf` (`MSG_TRUNC`: the original length is returned even when the
    /// packet did not fit). `Ok(None)` when the receive timeout expired or a signal interrupted.
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        let mut addr = zeroed_sockaddr_ll();
        let mut len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `buf` is writable for `buf.len()` bytes, `addr` for `len` bytes; the kernel writes
        // at most those lengths.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast::<libc::c_void>(),
                buf.len(),
                libc::MSG_TRUNC,
                (&raw mut addr).cast::<libc::sockaddr>(),
                &raw mut len,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        let original = usize::try_from(n).unwrap_or(0);
        Ok(Some(Received {
            captured: original.min(buf.len()),
            original,
            pkttype: addr.sll_pkttype,
            hatype: addr.sll_hatype,
            protocol_be: addr.sll_protocol.to_ne_bytes(),
            addr: addr.sll_addr,
            halen: addr.sll_halen,
        }))
    }

    /// The kernel's receive time of the last packet read, in nanoseconds since the Unix epoch.
    pub(crate) fn last_timestamp(&self) -> io::Result<u64> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: SIOCGSTAMPNS writes one `struct timespec` through the pointer, which is valid.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), SIOCGSTAMPNS as _, &raw mut ts) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
        Ok(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    /// `PACKET_STATISTICS`: (packets the socket saw, packets dropped for lack of buffer) since the
    /// previous call (the kernel resets the counters on every read).
    pub(crate) fn statistics(&self) -> io::Result<(u64, u64)> {
        let mut st = TpacketStats::default();
        let mut len = size_of::<TpacketStats>() as libc::socklen_t;
        // SAFETY: `st` is writable for `len` bytes and `len` is a valid in/out length.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_STATISTICS,
                (&raw mut st).cast::<libc::c_void>(),
                &raw mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((u64::from(st.tp_packets), u64::from(st.tp_drops)))
    }
}
