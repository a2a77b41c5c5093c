//! The transfer's UDP socket: connected to its peer, buffers sized for the
//! rate, segmentation offload where the kernel has it.
//!
//! A connected UDP socket is what makes a closed port visible: the kernel
//! turns the peer's ICMP "port unreachable" into `ECONNREFUSED` on the next
//! call (an unconnected socket never hears of it), and it drops datagrams
//! from any other address before they reach the protocol.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::socket::{getsockopt, setsockopt, sockopt};
use nix::sys::time::TimeSpec;

/// Socket buffer sizes to ask the kernel for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketOptions {
    /// `SO_RCVBUF` in bytes.
    pub receive_buffer: usize,
    /// `SO_SNDBUF` in bytes.
    pub send_buffer: usize,
}

/// 1 MiB.
const MIB: usize = 1 << 20;

impl SocketOptions {
    /// For a receiver: 32 MiB of receive buffer holds 30 ms of a 1 GB/s
    /// stream, so a receiver that stalls on a disk write or a busy core
    /// drops nothing (at the default 208 KiB, 8–15 thousand datagrams per
    /// 100 MB were dropped in the socket at ~70 MB/s). The buffer is a
    /// limit, not an allocation: memory is used only while data waits.
    pub fn receiver() -> SocketOptions {
        SocketOptions {
            receive_buffer: 32 * MIB,
            send_buffer: MIB,
        }
    }

    /// For a sender pacing at `rate` bytes per second (0: unpaced): 20 ms
    /// of data in the send buffer, between 1 and 32 MiB, so that bursts of
    /// 64 KiB segmentation-offload writes queue instead of failing.
    pub fn sender(rate: u64) -> SocketOptions {
        let bytes = if rate == 0 {
            32 * MIB
        } else {
            usize::try_from(rate / 50).unwrap_or(usize::MAX).clamp(MIB, 32 * MIB)
        };
        SocketOptions {
            receive_buffer: MIB,
            send_buffer: bytes,
        }
    }
}

/// What the kernel granted for one buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferSize {
    /// Bytes asked for.
    pub requested: usize,
    /// Bytes granted (Linux reports twice the usable size; this is the usable size).
    pub granted: usize,
    /// The `sysctl` that caps it.
    pub limit: &'static str,
}

impl BufferSize {
    /// Whether the system limit made it smaller than asked.
    pub fn is_capped(&self) -> bool {
        self.granted < self.requested
    }

    /// The command that would let the kernel grant the request.
    pub fn raise_command(&self) -> String {
        format!("sysctl -w {}={}", self.limit, self.requested)
    }
}

/// How the socket was set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// `SO_RCVBUF`.
    pub receive_buffer: BufferSize,
    /// `SO_SNDBUF`.
    pub send_buffer: BufferSize,
    /// The kernel knows `UDP_SEGMENT`: many datagrams leave in one send.
    pub gso: bool,
    /// `UDP_GRO` is on: many datagrams arrive in one receive.
    pub gro: bool,
    /// `SO_RXQ_OVFL` is on: datagrams the socket dropped are counted.
    pub drop_counter: bool,
}

/// A UDP socket set up for a transfer.
#[derive(Debug)]
pub struct Socket {
    udp: UdpSocket,
    pub(crate) tuning: Tuning,
    peer: Option<SocketAddr>,
}

impl Socket {
    /// A receiver's socket on `addr` (port 0 picks a free port), with
    /// receive offload and the drop counter on.
    ///
    /// # Errors
    /// The bind error (address in use, not permitted, …).
    pub fn bind(addr: SocketAddr, options: SocketOptions) -> io::Result<Socket> {
        let udp = UdpSocket::bind(addr)?;
        let fd = udp.as_raw_fd();
        let gro = setsockopt(fd, sockopt::UdpGroSegment, &true).is_ok();
        let drop_counter = setsockopt(fd, sockopt::RxqOvfl, &1).is_ok();
        let tuning = Tuning {
            gro,
            drop_counter,
            ..tune(&udp, options)?
        };
        Ok(Socket {
            udp,
            tuning,
            peer: None,
        })
    }

    /// A sender's socket connected to `peer`, from an ephemeral port.
    ///
    /// # Errors
    /// The bind or connect error (no route, …).
    pub fn connect(peer: SocketAddr, options: SocketOptions) -> io::Result<Socket> {
        let any: SocketAddr = if peer.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let udp = UdpSocket::bind(any)?;
        udp.connect(peer)?;
        let tuning = tune(&udp, options)?;
        Ok(Socket {
            udp,
            tuning,
            peer: Some(peer),
        })
    }

    /// The local address (the port a receiver bound to port 0 got).
    ///
    /// # Errors
    /// As [`UdpSocket::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }

    /// The peer, once connected.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// How the socket was set up.
    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }

    /// Connects a receiver to the sender it adopted: from now on the kernel
    /// drops other senders' datagrams and reports a closed sender port.
    pub(crate) fn adopt_peer(&mut self, peer: SocketAddr) -> io::Result<()> {
        self.udp.connect(peer)?;
        self.peer = Some(peer);
        Ok(())
    }

    pub(crate) fn udp(&self) -> &UdpSocket {
        &self.udp
    }

    /// Sets `UDP_SEGMENT` to `segment` bytes; `false` if the kernel refused.
    pub(crate) fn set_segment_size(&mut self, segment: usize) -> bool {
        let ok = self.tuning.gso
            && i32::try_from(segment)
                .is_ok_and(|s| setsockopt(self.udp.as_raw_fd(), sockopt::UdpGsoSegment, &s).is_ok());
        self.tuning.gso = ok;
        ok
    }

    /// Turns receive offload off (to test the `recvmmsg` path).
    #[cfg(test)]
    pub(crate) fn disable_gro(&mut self) {
        setsockopt(self.udp.as_raw_fd(), sockopt::UdpGroSegment, &false).unwrap();
        self.tuning.gro = false;
    }

    /// Turns segmentation offload off after the path refused it.
    pub(crate) fn disable_gso(&mut self) {
        let _ = setsockopt(self.udp.as_raw_fd(), sockopt::UdpGsoSegment, &0);
        self.tuning.gso = false;
    }

    /// Waits until a datagram or an error (a refused port) is pending, or
    /// `timeout` passes (`None`: forever); `true` if something is pending.
    /// `ppoll` sleeps on a high-resolution timer: a socket read timeout
    /// would be rounded up to the kernel tick (4 ms at HZ=250), which once
    /// capped pacing at ~16 MB/s.
    pub(crate) fn wait_readable(&self, timeout: Option<Duration>) -> io::Result<bool> {
        let mut fds = [PollFd::new(self.udp.as_raw_fd(), PollFlags::POLLIN)];
        match ppoll(&mut fds, timeout.map(TimeSpec::from_duration), None) {
            Ok(n) => Ok(n > 0),
            Err(nix::errno::Errno::EINTR) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// Asks for the buffer sizes and reads back what was granted; probes `UDP_SEGMENT`.
fn tune(udp: &UdpSocket, options: SocketOptions) -> io::Result<Tuning> {
    let fd = udp.as_raw_fd();
    // Linux caps a request at net.core.{r,w}mem_max and stores twice the
    // value (the other half is bookkeeping); getsockopt reports the double.
    // The kernel takes an int.
    let _ = setsockopt(fd, sockopt::RcvBuf, &options.receive_buffer.min(i32::MAX as usize));
    let _ = setsockopt(fd, sockopt::SndBuf, &options.send_buffer.min(i32::MAX as usize));
    let receive_buffer = BufferSize {
        requested: options.receive_buffer,
        granted: getsockopt(fd, sockopt::RcvBuf)? / 2,
        limit: "net.core.rmem_max",
    };
    let send_buffer = BufferSize {
        requested: options.send_buffer,
        granted: getsockopt(fd, sockopt::SndBuf)? / 2,
        limit: "net.core.wmem_max",
    };
    Ok(Tuning {
        receive_buffer,
        send_buffer,
        gso: getsockopt(fd, sockopt::UdpGsoSegment).is_ok(),
        gro: false,
        drop_counter: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_buffers_follow_the_rate_within_bounds() {
        assert_eq!(SocketOptions::sender(100_000_000).send_buffer, 2_000_000);
        assert_eq!(SocketOptions::sender(1_000).send_buffer, MIB);
        assert_eq!(SocketOptions::sender(0).send_buffer, 32 * MIB);
        assert_eq!(SocketOptions::sender(u64::MAX).send_buffer, 32 * MIB);
    }

    #[test]
    fn a_capped_buffer_names_the_sysctl_that_raises_it() {
        let limit: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let above = limit + MIB;
        let socket = Socket::bind(
            "127.0.0.1:0".parse().unwrap(),
            SocketOptions {
                receive_buffer: above,
                send_buffer: 8192,
            },
        )
        .unwrap();
        let receive = socket.tuning().receive_buffer;
        assert!(receive.is_capped(), "{receive:?}");
        assert_eq!(receive.granted, limit);
        assert_eq!(receive.raise_command(), format!("sysctl -w net.core.rmem_max={above}"));
        assert!(!socket.tuning().send_buffer.is_capped());
    }
}
