//! Whatever a page (or anyone who reaches the UI's WebSocket) sends: the message parser and the key mapping never
//! panic, refuse what is too long, and a parsed `send` never carries more than the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluicegate_p2_ui::wire::{self, PageMessage, SEND_MAX};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match PageMessage::parse(text) {
        Ok(PageMessage::Send { text }) => assert!(text.len() <= SEND_MAX),
        Ok(PageMessage::Key { key, ctrl, .. }) => {
            let _ = wire::key(&key, ctrl);
        }
        Ok(PageMessage::Pointer { buttons, .. }) => {
            let _ = wire::buttons(buttons);
        }
        _ => {}
    }
});
