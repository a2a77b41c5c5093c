//! Two connections in virtual time: handshakes with loss, wrong codes,
//! strangers and tampering.

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use proptest::prelude::*;

use super::*;

fn code() -> Code {
    Code::parse("417-harbor-velvet-zebra").unwrap()
}

const CONFIG: HandshakeConfig = HandshakeConfig {
    initial_rto: Duration::from_millis(200),
    max_rto: Duration::from_secs(1),
    timeout: Duration::from_secs(10),
};

/// Runs both handshakes until both are established or one fails; `lose`
/// decides, per message (from the initiator: `true`), whether it is lost.
/// Returns the errors of initiator and responder.
fn run(
    a: &mut Connection,
    b: &mut Connection,
    mut lose: impl FnMut(bool, &[u8]) -> bool,
) -> (Option<HandshakeError>, Option<HandshakeError>) {
    let mut buf = [0u8; 1500];
    let (mut ea, mut eb) = (None, None);
    let mut now = Duration::ZERO;
    while now < Duration::from_secs(20) {
        while let Some(n) = a.poll_transmit(now, &mut buf) {
            if !lose(true, &buf[..n])
                && let Err(e) = b.handle_datagram(now, &mut buf[..n])
            {
                eb = Some(e);
            }
        }
        while let Some(n) = b.poll_transmit(now, &mut buf) {
            if !lose(false, &buf[..n])
                && let Err(e) = a.handle_datagram(now, &mut buf[..n])
            {
                ea = Some(e);
            }
        }
        if a.handle_timeout(now).is_err() {
            ea = ea.or(a.handle_timeout(now).err());
        }
        if b.handle_timeout(now).is_err() {
            eb = eb.or(b.handle_timeout(now).err());
        }
        if (a.is_established() && b.is_established()) || ea.is_some() || eb.is_some() {
            // Drain what is still due (a failing side's Confirm).
            while let Some(n) = a.poll_transmit(now, &mut buf) {
                if !lose(true, &buf[..n])
                    && let Err(e) = b.handle_datagram(now, &mut buf[..n])
                {
                    eb = Some(e);
                }
            }
            return (ea, eb);
        }
        now += Duration::from_millis(50);
    }
    (ea, eb)
}

fn sealed(from: &mut Connection, plain: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; plain.len() + from.overhead()];
    let h = from.header_len();
    buf[h..h + plain.len()].copy_from_slice(plain);
    let n = from.seal(&mut buf, plain.len()).unwrap();
    buf.truncate(n);
    buf
}

fn opens(to: &mut Connection, datagram: &[u8]) -> Option<Vec<u8>> {
    let mut d = datagram.to_vec();
    match to.handle_datagram(Duration::ZERO, &mut d) {
        Ok(Received::Data(r)) => Some(d[r].to_vec()),
        _ => None,
    }
}

fn pair(a: Secret, b: Secret) -> (Connection, Connection) {
    (
        Connection::initiator(a, [1; 32], CONFIG, Duration::ZERO),
        Connection::responder(b, [2; 32], CONFIG, Duration::ZERO),
    )
}

#[test]
fn a_code_handshake_keys_both_directions() {
    let (mut a, mut b) = pair(Secret::Code(code()), Secret::Code(code()));
    assert_eq!(run(&mut a, &mut b, |_, _| false), (None, None));
    assert!(a.is_confirmed() && b.is_confirmed());
    assert_eq!(opens(&mut b, &sealed(&mut a, b"data")), Some(b"data".to_vec()));
    assert_eq!(opens(&mut a, &sealed(&mut b, b"feedback")), Some(b"feedback".to_vec()));
}

#[test]
fn a_key_file_gives_fresh_keys_every_session() {
    let key = [7u8; 32];
    let (mut a1, mut b1) = pair(Secret::Key(key), Secret::Key(key));
    assert_eq!(run(&mut a1, &mut b1, |_, _| false), (None, None));
    let mut a2 = Connection::initiator(Secret::Key(key), [3; 32], CONFIG, Duration::ZERO);
    let mut b2 = Connection::responder(Secret::Key(key), [4; 32], CONFIG, Duration::ZERO);
    assert_eq!(run(&mut a2, &mut b2, |_, _| false), (None, None));
    let one = sealed(&mut a1, b"same plaintext, same counter");
    let two = sealed(&mut a2, b"same plaintext, same counter");
    assert_ne!(one, two, "counter 0 of two sessions under one key file");
    assert_eq!(opens(&mut b2, &one), None, "a datagram of another session is refused");
    assert!(opens(&mut b1, &one).is_some());
    assert_eq!(b2.stats().channel.unauthenticated, 1);
}

#[test]
fn a_wrong_code_fails_both_sides_clearly() {
    let other = Code::parse("417-harbor-velvet-zebu").unwrap_err();
    assert!(matches!(other, CodeError::UnknownWord { .. }));
    let wrong = Code::parse("418-harbor-velvet-zebra").unwrap();
    let (mut a, mut b) = pair(Secret::Code(code()), Secret::Code(wrong));
    let (ea, eb) = run(&mut a, &mut b, |_, _| false);
    assert_eq!(ea, Some(HandshakeError::KeyMismatch));
    assert_eq!(eb, Some(HandshakeError::KeyMismatch));
    assert!(!a.is_established());
    assert!(alloc::format!("{}", ea.unwrap()).contains("wrong code"));
    // A failed side stays failed.
    let mut hello = [0u8; HELLO_LEN];
    assert_eq!(a.handle_timeout(Duration::ZERO), Err(HandshakeError::KeyMismatch));
    assert_eq!(a.poll_transmit(Duration::from_secs(5), &mut hello), None);
}

#[test]
fn a_wrong_key_file_and_a_mode_mismatch_fail() {
    let (mut a, mut b) = pair(Secret::Key([1; 32]), Secret::Key([2; 32]));
    assert_eq!(
        run(&mut a, &mut b, |_, _| false),
        (Some(HandshakeError::KeyMismatch), Some(HandshakeError::KeyMismatch))
    );
    let (mut a, mut b) = pair(Secret::Code(code()), Secret::Key([2; 32]));
    let (_, eb) = run(&mut a, &mut b, |_, _| false);
    assert_eq!(
        eb,
        Some(HandshakeError::ModeMismatch {
            ours: "key file",
            peer: "code"
        })
    );
}

#[test]
fn lost_hellos_replies_and_confirms_are_repaired() {
    // Lose the first three Hellos, the first two Replies and every Confirm:
    // the Hello is retransmitted, a repeated Hello draws the Reply again,
    // and the first sealed datagram confirms the responder.
    let (mut a, mut b) = pair(Secret::Code(code()), Secret::Code(code()));
    let (mut hellos, mut replies) = (0, 0);
    let r = run(&mut a, &mut b, |from_initiator, m| match (from_initiator, m.len()) {
        (true, HELLO_LEN) => {
            hellos += 1;
            hellos <= 3
        }
        (false, REPLY_LEN) => {
            replies += 1;
            replies <= 2
        }
        (true, CONFIRM_LEN) => true,
        _ => false,
    });
    assert_eq!(r, (None, None));
    assert_eq!((hellos, replies), (6, 3));
    assert!(a.is_confirmed() && !b.is_confirmed());
    assert_eq!(
        opens(&mut b, &sealed(&mut a, b"first data")),
        Some(b"first data".to_vec())
    );
    assert!(b.is_confirmed());
}

#[test]
fn the_hello_backs_off_and_the_handshake_times_out() {
    let mut a = Connection::initiator(Secret::Code(code()), [1; 32], CONFIG, Duration::ZERO);
    let mut buf = [0u8; HELLO_LEN];
    let mut sent = Vec::new();
    let mut now = Duration::ZERO;
    while a.handle_timeout(now).is_ok() {
        if a.poll_transmit(now, &mut buf).is_some() {
            sent.push(now.as_millis());
        }
        now = a.poll_timeout().unwrap();
    }
    assert_eq!(&sent[..5], &[0, 200, 600, 1400, 2400]);
    assert_eq!(a.handle_timeout(now), Err(HandshakeError::Timeout(CONFIG.timeout)));
    let mut b = Connection::responder(Secret::Code(code()), [1; 32], CONFIG, Duration::ZERO);
    assert!(b.handle_timeout(Duration::from_secs(9)).is_ok());
    assert!(b.handle_timeout(Duration::from_secs(10)).is_err());
}

#[test]
fn strangers_tampering_and_replays_are_refused_and_counted() {
    let (mut a, mut b) = pair(Secret::Code(code()), Secret::Code(code()));
    assert_eq!(run(&mut a, &mut b, |_, _| false), (None, None));
    // A stranger with its own code: its Hello is ignored (one peer, one
    // guess), its sealed datagrams do not open.
    let (mut c, mut d) = pair(
        Secret::Code(Code::parse("9-acorn-acorn-fox").unwrap()),
        Secret::Code(Code::parse("9-acorn-acorn-fox").unwrap()),
    );
    let mut hello = [0u8; HELLO_LEN];
    let n = c.poll_transmit(Duration::ZERO, &mut hello).unwrap();
    assert_eq!(
        b.handle_datagram(Duration::ZERO, &mut hello[..n]),
        Ok(Received::Rejected)
    );
    assert_eq!(run(&mut c, &mut d, |_, _| false), (None, None));
    let foreign = sealed(&mut c, b"from a stranger");
    assert_eq!(opens(&mut b, &foreign), None);
    // Tampered: one bit anywhere.
    let good = sealed(&mut a, b"transfer datagram");
    for bit in 0..good.len() * 8 {
        let mut bad = good.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(opens(&mut b, &bad), None, "bit {bit}");
    }
    // A transfer datagram in the clear.
    assert_eq!(opens(&mut b, b"SG\x01\x01plain"), None);
    assert!(opens(&mut b, &good).is_some());
    assert_eq!(opens(&mut b, &good), None, "replayed");
    let s = b.stats();
    assert_eq!((s.channel.opened, s.channel.replayed), (1, 1));
    // A flipped kind byte makes a malformed handshake message.
    assert_eq!(s.handshake_ignored, 1 + 8);
    // The Hello, the stranger's datagram, every bit flip, the clear one, the replay.
    assert_eq!(s.rejected(), 1 + 1 + good.len() as u64 * 8 + 1 + 1);
}

#[test]
fn a_guessing_attacker_spends_the_code_and_gets_nothing() {
    // The attacker's Hello arrives first with a guess: the responder answers
    // it alone, and fails on the attacker's Confirm; the real sender's Hello
    // is ignored. The attacker learns only that the guess was wrong.
    let guess = Code::parse("1-acorn-acorn-acorn").unwrap();
    let mut attacker = Connection::initiator(Secret::Code(guess), [5; 32], CONFIG, Duration::ZERO);
    let mut sender = Connection::initiator(Secret::Code(code()), [1; 32], CONFIG, Duration::ZERO);
    let mut receiver = Connection::responder(Secret::Code(code()), [2; 32], CONFIG, Duration::ZERO);
    let (ea, eb) = run(&mut attacker, &mut receiver, |_, _| false);
    assert_eq!(
        (ea, eb),
        (Some(HandshakeError::KeyMismatch), Some(HandshakeError::KeyMismatch))
    );
    let mut hello = [0u8; HELLO_LEN];
    let n = sender.poll_transmit(Duration::ZERO, &mut hello).unwrap();
    assert_eq!(
        receiver.handle_datagram(Duration::ZERO, &mut hello[..n]),
        Err(HandshakeError::KeyMismatch)
    );
}

#[test]
fn a_forged_confirm_after_data_cannot_end_the_session() {
    let (mut a, mut b) = pair(Secret::Code(code()), Secret::Code(code()));
    assert_eq!(run(&mut a, &mut b, |_, _| false), (None, None));
    let mut forged = [0u8; CONFIRM_LEN];
    forged[..4].copy_from_slice(b"SE\x01\x03");
    assert_eq!(
        b.handle_datagram(Duration::ZERO, &mut forged),
        Ok(Received::Rejected),
        "confirmed by the Confirm already"
    );
}

#[test]
fn insecure_passes_through() {
    let mut c = Connection::insecure();
    assert!(c.is_established() && !c.is_secure());
    assert_eq!((c.header_len(), c.overhead()), (0, 0));
    let mut buf = *b"SG plain";
    assert_eq!(c.seal(&mut buf, 8), Ok(8));
    assert_eq!(c.handle_datagram(Duration::ZERO, &mut buf), Ok(Received::Data(0..8)));
    assert_eq!(c.poll_transmit(Duration::ZERO, &mut buf), None);
}

#[test]
fn key_files_are_raw_or_hex_and_never_weak() {
    let raw: Vec<u8> = (0..32).collect();
    assert_eq!(parse_key_file(&raw).unwrap().to_vec(), raw);
    let hex: alloc::string::String = raw.iter().map(|b| alloc::format!("{b:02X}")).collect();
    assert_eq!(
        parse_key_file(alloc::format!("\n{hex}\n").as_bytes()).unwrap().to_vec(),
        raw
    );
    assert_eq!(parse_key_file(b"abc"), Err(KeyFileError::Length(3)));
    let mut bad = hex.clone().into_bytes();
    bad[10] = b'g';
    assert_eq!(parse_key_file(&bad), Err(KeyFileError::NotHex(10)));
    assert_eq!(parse_key_file(&[0; 32]), Err(KeyFileError::Weak));
}

/// Valid handshake messages of both directions, to mutate.
fn messages() -> &'static [Vec<u8>] {
    static MESSAGES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    MESSAGES.get_or_init(|| {
        let (mut a, mut b) = pair(Secret::Code(code()), Secret::Code(code()));
        let mut out = Vec::new();
        let _ = run(&mut a, &mut b, |_, m| {
            out.push(m.to_vec());
            false
        });
        out.push(sealed(&mut a, b"sealed"));
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any bytes, and valid messages with a byte overwritten or cut short,
    /// fed to either side in any state, never panic, and nothing that is
    /// not authentic comes out as data.
    #[test]
    fn no_input_panics_either_side(
        noise in proptest::collection::vec(any::<u8>(), 0..200),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        for initiator in [true, false] {
            let mut c = if initiator {
                Connection::initiator(Secret::Code(code()), [1; 32], CONFIG, Duration::ZERO)
            } else {
                Connection::responder(Secret::Key([3; 32]), [1; 32], CONFIG, Duration::ZERO)
            };
            let mut n = noise.clone();
            prop_assert!(!matches!(c.handle_datagram(Duration::ZERO, &mut n), Ok(Received::Data(_))));
            for m in messages() {
                let mut m2 = m.clone();
                let i = at.index(m2.len());
                let changed = m2[i] != byte;
                m2[i] = byte;
                let got = c.handle_datagram(Duration::ZERO, &mut m2);
                prop_assert!(!(changed && matches!(got, Ok(Received::Data(_)))));
                let len = cut.index(m.len());
                let _ = c.handle_datagram(Duration::ZERO, &mut m.clone()[..len]);
                let mut out = [0u8; HELLO_LEN];
                while c.poll_transmit(Duration::ZERO, &mut out).is_some() {}
            }
        }
    }
}
