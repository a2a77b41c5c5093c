//! Datagrams in and out in batches: one system call for many datagrams.
//!
//! Out ([`Outbox`]): with UDP GSO (`UDP_SEGMENT`) one `send` carries up to
//! 64 KiB of equal-sized datagrams that the kernel (or the NIC) cuts apart;
//! without it, or when the path refuses it, `sendmmsg` sends up to 32 in one
//! call. In ([`Inbox`]): with UDP GRO the kernel hands over runs of datagrams
//! coalesced in one buffer, their size in a control message (which also
//! carries the socket's drop counter); without it, `recvmmsg` takes up to 32.
//! Buffers are allocated once; nothing is allocated per datagram.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, recvmsg, sendmmsg,
};

use super::socket::Socket;

/// Datagrams per `sendmmsg`/`recvmmsg` call.
const BATCH: usize = 32;
/// Bytes per GSO send: under the 65,507-byte limit of a UDP payload over IPv4.
const GSO_BYTES: usize = 65_000;
/// Segments per GSO send (`UDP_MAX_SEGMENTS` of older kernels).
const GSO_SEGMENTS: usize = 64;
/// A receive slot holds any UDP datagram, or a GRO run of them.
pub(crate) const SLOT_LEN: usize = 65_536;

/// Whether a send error means the datagram was dropped on the way out (the
/// protocol repairs it like any loss): a full queue or no buffer memory.
fn dropped_on_the_way_out(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::WouldBlock || error.raw_os_error() == Some(Errno::ENOBUFS as i32)
}

/// Whether a GSO send error means the path cannot segment (a device
/// without checksum offload, an MTU below the segment, an old kernel).
fn gso_refused(error: &io::Error) -> bool {
    [Errno::EIO, Errno::EINVAL, Errno::EMSGSIZE, Errno::EOPNOTSUPP]
        .iter()
        .any(|&e| error.raw_os_error() == Some(e as i32))
}

/// Equal-sized datagrams collected and sent together on a connected socket.
pub(crate) struct Outbox {
    buf: Vec<u8>,
    stride: usize,
    lens: Vec<usize>,
    capacity: usize,
    headers: MultiHeaders<SockaddrStorage>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("stride", &self.stride)
            .field("queued", &self.lens.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Outbox {
    /// An outbox for datagrams of at most `stride` bytes; turns GSO on for
    /// that size if the socket has it.
    pub(crate) fn new(socket: &mut Socket, stride: usize) -> Outbox {
        let gso = socket.set_segment_size(stride);
        let capacity = if gso {
            (GSO_BYTES / stride).clamp(1, GSO_SEGMENTS)
        } else {
            BATCH
        };
        Outbox {
            buf: vec![0; capacity.max(BATCH) * stride],
            stride,
            lens: Vec::with_capacity(capacity.max(BATCH)),
            capacity,
            headers: MultiHeaders::preallocate(BATCH, None),
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.lens.len() >= self.capacity
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// Lets `write` fill the next slot (`stride` bytes) and queues the
    /// datagram if it returns a length (a length of 0 queues nothing: a
    /// datagram dropped on purpose); `false` if it wrote nothing.
    ///
    /// # Panics
    /// If the outbox is full or `write` claims more than the slot.
    pub(crate) fn push(&mut self, write: impl FnOnce(&mut [u8]) -> Option<usize>) -> bool {
        assert!(!self.is_full(), "flush a full outbox first");
        let at = self.lens.len() * self.stride;
        match write(&mut self.buf[at..at + self.stride]) {
            Some(0) => true,
            Some(n) => {
                assert!(n <= self.stride, "a datagram longer than its slot");
                self.lens.push(n);
                true
            }
            None => false,
        }
    }

    /// Sends what is queued and empties the outbox. Datagrams the kernel
    /// drops for lack of buffer are lost like on the wire.
    ///
    /// # Errors
    /// `ConnectionRefused` when the peer's port was reported closed (the
    /// queued datagrams are lost), or any other socket error.
    pub(crate) fn flush(&mut self, socket: &mut Socket) -> io::Result<()> {
        let result = self.send_all(socket);
        self.lens.clear();
        match result {
            Err(e) if dropped_on_the_way_out(&e) => Ok(()),
            other => other,
        }
    }

    fn send_all(&mut self, socket: &mut Socket) -> io::Result<()> {
        let Some((&last, rest)) = self.lens.split_last() else {
            return Ok(());
        };
        // One GSO send needs every segment but the last to be full size.
        if socket.tuning().gso && self.lens.len() > 1 && rest.iter().all(|&n| n == self.stride) {
            let total = rest.len() * self.stride + last;
            match socket.udp().send(&self.buf[..total]) {
                Ok(_) => return Ok(()),
                Err(e) if gso_refused(&e) => {
                    socket.disable_gso();
                    self.capacity = BATCH;
                }
                Err(e) => return Err(e),
            }
        }
        self.send_each(socket)
    }

    /// `sendmmsg` in calls of up to [`BATCH`], resuming after a partial send.
    fn send_each(&mut self, socket: &Socket) -> io::Result<()> {
        const NO_ADDRESS: [Option<SockaddrStorage>; BATCH] = [None; BATCH];
        let fd = socket.udp().as_raw_fd();
        let mut sent = 0;
        while sent < self.lens.len() {
            let n = (self.lens.len() - sent).min(BATCH);
            let mut slots = self.buf[sent * self.stride..].chunks_exact(self.stride);
            let lens = &self.lens[sent..sent + n];
            let iovs: [[IoSlice<'_>; 1]; BATCH] = std::array::from_fn(|i| {
                let slot = slots.next().unwrap_or_default();
                [IoSlice::new(&slot[..lens.get(i).copied().unwrap_or(0)])]
            });
            let no_control: [ControlMessage<'_>; 0] = [];
            let done = sendmmsg(
                fd,
                &mut self.headers,
                &iovs[..n],
                &NO_ADDRESS[..n],
                no_control,
                MsgFlags::empty(),
            )
            .map_err(io::Error::from)?
            .count();
            sent += done.max(1);
        }
        Ok(())
    }
}

/// Where and how long one received message is.
#[derive(Clone, Copy, Debug, Default)]
struct Message {
    len: usize,
    segment: usize,
    from: Option<SocketAddr>,
}

/// Datagrams received in batches into buffers allocated once.
pub(crate) struct Inbox {
    buf: Vec<u8>,
    messages: Vec<Message>,
    slots: usize,
    gro: bool,
    control: Vec<u8>,
    headers: MultiHeaders<SockaddrStorage>,
    dropped: u32,
    pending_error: Option<io::Error>,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("slots", &self.slots)
            .field("gro", &self.gro)
            .field("messages", &self.messages.len())
            .field("dropped", &self.dropped)
            .finish()
    }
}

fn socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}

impl Inbox {
    /// An inbox of `slots` receive buffers of 64 KiB, reading with GRO if
    /// the socket has it on.
    pub(crate) fn new(socket: &Socket, slots: usize) -> Inbox {
        let slots = slots.clamp(1, BATCH);
        Inbox {
            buf: vec![0; slots * SLOT_LEN],
            messages: Vec::with_capacity(slots),
            slots,
            gro: socket.tuning().gro,
            // The GRO segment size (an int) and the drop counter (a u32).
            control: nix::cmsg_space!(i32, u32),
            // recvmmsg without control messages: nix keeps the kernel's
            // shrunken control length between calls, so a reused header
            // would lose them after the first message that had none.
            headers: MultiHeaders::preallocate(slots, None),
            dropped: 0,
            pending_error: None,
        }
    }

    /// Datagrams the socket dropped for want of buffer space so far, if
    /// the socket counts them.
    pub(crate) fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Takes what is pending without waiting; returns the number of
    /// messages read (0: nothing pending). Read them with
    /// [`for_each_datagram_mut`](Self::for_each_datagram_mut).
    ///
    /// # Errors
    /// A socket error, e.g. `ConnectionRefused` for a closed peer port (an
    /// error after some messages were read is returned by the next call).
    pub(crate) fn receive(&mut self, socket: &Socket) -> io::Result<usize> {
        self.messages.clear();
        if let Some(e) = self.pending_error.take() {
            return Err(e);
        }
        let result = if self.gro {
            self.receive_coalesced(socket)
        } else {
            self.receive_many(socket)
        };
        match result {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if self.messages.is_empty() => return Err(e),
            Err(e) => self.pending_error = Some(e),
            Ok(()) => {}
        }
        Ok(self.messages.len())
    }

    /// `recvmsg` per slot: each message may hold a GRO run of datagrams.
    fn receive_coalesced(&mut self, socket: &Socket) -> io::Result<()> {
        let fd = socket.udp().as_raw_fd();
        for slot in self.buf.chunks_exact_mut(SLOT_LEN) {
            let mut iov = [IoSliceMut::new(slot)];
            let msg = recvmsg::<SockaddrStorage>(fd, &mut iov, Some(&mut self.control), MsgFlags::MSG_DONTWAIT)
                .map_err(io::Error::from)?;
            let mut segment = msg.bytes;
            for control in msg.cmsgs() {
                match control {
                    ControlMessageOwned::UdpGroSegments(size) => segment = usize::from(size),
                    ControlMessageOwned::RxqOvfl(dropped) => self.dropped = dropped,
                    _ => {}
                }
            }
            self.messages.push(Message {
                len: msg.bytes,
                segment,
                from: msg.address.as_ref().and_then(socket_addr),
            });
        }
        Ok(())
    }

    /// One `recvmmsg` into every slot.
    fn receive_many(&mut self, socket: &Socket) -> io::Result<()> {
        let mut slots = self.buf.chunks_exact_mut(SLOT_LEN);
        let iovs: [[IoSliceMut<'_>; 1]; BATCH] =
            std::array::from_fn(|_| [IoSliceMut::new(slots.next().unwrap_or_default())]);
        let received = recvmmsg(
            socket.udp().as_raw_fd(),
            &mut self.headers,
            &iovs[..self.slots],
            MsgFlags::MSG_DONTWAIT,
            None,
        )
        .map_err(io::Error::from)?;
        for msg in received {
            self.messages.push(Message {
                len: msg.bytes,
                segment: msg.bytes,
                from: msg.address.as_ref().and_then(socket_addr),
            });
        }
        Ok(())
    }

    /// Hands each datagram of the last [`receive`](Self::receive) to `f`,
    /// GRO runs cut at their segment size, with its sender's address;
    /// writable, so that it can be opened in place. An empty datagram is a
    /// datagram too (and malformed).
    pub(crate) fn for_each_datagram_mut(&mut self, mut f: impl FnMut(Option<SocketAddr>, &mut [u8])) {
        for (m, slot) in self.messages.iter().zip(self.buf.chunks_exact_mut(SLOT_LEN)) {
            let data = &mut slot[..m.len.min(SLOT_LEN)];
            if data.is_empty() {
                f(m.from, data);
            }
            for datagram in data.chunks_mut(m.segment.max(1)) {
                f(m.from, datagram);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::socket::SocketOptions;

    fn pair() -> (Socket, Socket) {
        let receiver = Socket::bind("127.0.0.1:0".parse().unwrap(), SocketOptions::receiver()).unwrap();
        let sender = Socket::connect(receiver.local_addr().unwrap(), SocketOptions::sender(0)).unwrap();
        (sender, receiver)
    }

    /// Sends `count` datagrams of `len` bytes numbered by their first byte
    /// and checks they arrive whole and in order, with or without offload.
    fn round_trip(offload: bool, count: usize, len: usize) {
        let (mut sender, mut receiver) = pair();
        if !offload {
            sender.tuning.gso = false;
            receiver.disable_gro();
        }
        let mut outbox = Outbox::new(&mut sender, len);
        let inbox = &mut Inbox::new(&receiver, 8);
        assert_eq!(inbox.gro, offload);
        for i in 0..count {
            if outbox.is_full() {
                outbox.flush(&mut sender).unwrap();
            }
            outbox.push(|slot| {
                slot.fill(i as u8);
                Some(len)
            });
        }
        outbox.flush(&mut sender).unwrap();
        let mut got = Vec::new();
        while got.len() < count {
            assert!(receiver.wait_readable(Some(std::time::Duration::from_secs(5))).unwrap());
            inbox.receive(&receiver).unwrap();
            let port = sender.local_addr().unwrap().port();
            inbox.for_each_datagram_mut(|from, d| {
                assert_eq!(from.map(|a| a.port()), Some(port));
                assert_eq!(d.len(), len);
                assert!(d.iter().all(|&b| b == d[0]));
                got.push(d[0]);
            });
        }
        let expected: Vec<u8> = (0..count).map(|i| i as u8).collect();
        assert_eq!(got, expected, "offload {offload}");
        assert_eq!(inbox.dropped(), 0);
    }

    #[test]
    fn datagrams_arrive_whole_and_in_order_with_and_without_offload() {
        round_trip(true, 300, 1_234);
        round_trip(false, 300, 1_234);
    }

    #[test]
    fn a_closed_port_is_reported_as_refused() {
        let (mut sender, receiver) = pair();
        drop(receiver);
        let mut outbox = Outbox::new(&mut sender, 100);
        let mut inbox = Inbox::new(&sender, 1);
        let mut refused = 0;
        for _ in 0..10 {
            outbox.push(|_| Some(100));
            if let Err(e) = outbox.flush(&mut sender) {
                assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
                refused += 1;
            }
            if let Err(e) = inbox.receive(&sender) {
                assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
                refused += 1;
            }
        }
        assert!(refused >= 5, "{refused}");
    }
}
