//! The ROM loader's parsers on arbitrary bytes (`docs/p2-protocol.md` B.1): the host reading the chip's answer
//! to `Prop_Chk` and the checksum reply, and the simulated ROM reading what a host sends. None may panic; a
//! chip is only ever read from a `Prop_Ver ` line, and once the answer read so far names a chip, more bytes
//! never change it (the host stops reading at the first answer).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sluicegate_p2::loader::{RomLoader, RomOutput, Verdict, parse_chip};

fuzz_target!(|received: &[u8]| {
    let chip = parse_chip(received);
    if let Some(chip) = chip {
        assert!(
            received.windows(9).any(|window| window == b"Prop_Ver "),
            "a chip without a Prop_Ver line"
        );
        let _ = (chip.load_limit(), chip.to_string());
    }
    // Every prefix that ends a line, as the host's reads may end there.
    let ends = received.iter().enumerate().filter(|&(_, &byte)| byte == b'\n').map(|(at, _)| at + 1);
    for end in ends.take(64) {
        if let Some(early) = parse_chip(&received[..end]) {
            assert_eq!(Some(early), chip, "a later byte changed the chip");
        }
    }
    let verdicts = received.iter().filter_map(|&byte| Verdict::from_byte(byte)).count();
    assert!(verdicts <= received.len());

    // The ROM side, fed in two reads split where the first byte says.
    let split = received.first().map_or(0, |&byte| usize::from(byte)).min(received.len());
    let mut rom = RomLoader::new(b'G');
    rom.handle_bytes(&received[..split]);
    rom.handle_bytes(&received[split..]);
    let mut outputs = 0usize;
    while let Some(output) = rom.poll_output() {
        outputs += 1;
        if let RomOutput::Run(loaded) | RomOutput::Rejected(loaded) = output {
            assert!(loaded.image.len() <= 0x10_0000, "past the chip's load limit");
        }
    }
    assert!(outputs <= received.len() + 1, "more outputs than bytes");
});
