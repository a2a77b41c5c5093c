//! The capture parsers (ours, the reference's USB traffic log and `.p2rec`, raw) on arbitrary bytes: each
//! must give a recording whose chunks lie within its data, or a typed error, never a panic or an allocation
//! the file cannot justify.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sluicegate_p2::recording::Recording;

fuzz_target!(|file: &[u8]| {
    if let Ok(recording) = Recording::parse(file) {
        let mut total = 0usize;
        for chunk in &recording.chunks {
            total += recording.bytes(chunk).len();
        }
        assert!(total <= recording.data.len());
    }
});
