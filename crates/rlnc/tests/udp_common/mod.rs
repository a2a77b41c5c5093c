//! What the UDP tests share: pseudo-random input and a loopback socket.

use std::net::UdpSocket;

/// `len` xorshift bytes: incompressible, the same every run.
pub fn data(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A plain UDP socket on a free loopback port.
pub fn localhost() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}
