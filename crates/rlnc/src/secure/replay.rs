//! The anti-replay window of RFC 6479 (as WireGuard keeps it): a bitmap of
//! the last 4,032 counters below the highest one accepted, so datagrams
//! reordered by up to that many pass once and a replay never does.

const WORD_BITS: u64 = 64;
const WORDS: usize = 64;
/// Counters below the highest accepted that are still told apart.
pub const WINDOW: u64 = (WORDS as u64 - 1) * WORD_BITS;

/// Which counters were accepted; allocation-free, 520 bytes.
#[derive(Clone, Debug)]
pub struct ReplayWindow {
    /// Highest counter accepted, `None` before the first.
    highest: Option<u64>,
    bitmap: [u64; WORDS],
}

impl Default for ReplayWindow {
    fn default() -> ReplayWindow {
        ReplayWindow {
            highest: None,
            bitmap: [0; WORDS],
        }
    }
}

/// Why a counter is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// Seen before.
    Duplicate,
    /// Older than the window reaches.
    TooOld,
}

fn slot(counter: u64) -> (usize, u64) {
    (
        ((counter / WORD_BITS) % WORDS as u64) as usize,
        1 << (counter % WORD_BITS),
    )
}

impl ReplayWindow {
    /// Whether `counter` would be accepted. [`accept`](Self::accept) it only
    /// after the datagram authenticated, so a forged counter cannot move the
    /// window.
    ///
    /// # Errors
    /// [`Replay`] if it was seen or is too old.
    pub fn check(&self, counter: u64) -> Result<(), Replay> {
        let Some(highest) = self.highest else {
            return Ok(());
        };
        if counter > highest {
            return Ok(());
        }
        if highest - counter > WINDOW {
            return Err(Replay::TooOld);
        }
        let (word, bit) = slot(counter);
        if self.bitmap[word] & bit != 0 {
            Err(Replay::Duplicate)
        } else {
            Ok(())
        }
    }

    /// Records an authenticated `counter`.
    ///
    /// # Errors
    /// [`Replay`] as [`check`](Self::check) would say; nothing changes then.
    pub fn accept(&mut self, counter: u64) -> Result<(), Replay> {
        self.check(counter)?;
        match self.highest {
            Some(highest) if counter <= highest => {}
            _ => {
                // Clear the words the window slides over.
                let old = self.highest.map_or(counter / WORD_BITS, |h| h / WORD_BITS);
                let new = counter / WORD_BITS;
                let first = if self.highest.is_some() { old + 1 } else { old };
                let span = (new + 1).saturating_sub(first).min(WORDS as u64);
                for i in 0..span {
                    self.bitmap[((first + i) % WORDS as u64) as usize] = 0;
                }
                self.highest = Some(counter);
            }
        }
        let (word, bit) = slot(counter);
        self.bitmap[word] |= bit;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use proptest::prelude::*;

    #[test]
    fn in_order_reordered_and_replayed() {
        let mut w = ReplayWindow::default();
        assert_eq!(w.accept(5), Ok(()));
        assert_eq!(w.accept(5), Err(Replay::Duplicate));
        assert_eq!(w.accept(3), Ok(()));
        assert_eq!(w.accept(3), Err(Replay::Duplicate));
        assert_eq!(w.accept(10_000), Ok(()));
        assert_eq!(w.accept(10_000 - WINDOW), Ok(()));
        assert_eq!(w.accept(10_000 - WINDOW - 1), Err(Replay::TooOld));
        assert_eq!(w.accept(5), Err(Replay::TooOld));
        assert_eq!(w.accept(u64::MAX), Ok(()));
        assert_eq!(w.accept(u64::MAX), Err(Replay::Duplicate));
    }

    proptest! {
        /// Against a set of every counter seen: a counter within the window
        /// passes exactly once, whatever the order.
        #[test]
        fn matches_a_set_of_everything_seen(counters in proptest::collection::vec(0u64..20_000, 1..600)) {
            let mut w = ReplayWindow::default();
            let mut seen = BTreeSet::new();
            let mut highest = 0;
            for c in counters {
                let got = w.accept(c);
                if c + WINDOW < highest {
                    prop_assert_eq!(got, Err(Replay::TooOld));
                } else if seen.contains(&c) {
                    prop_assert_eq!(got, Err(Replay::Duplicate));
                } else {
                    prop_assert_eq!(got, Ok(()));
                    seen.insert(c);
                    highest = highest.max(c);
                }
            }
        }
    }
}
