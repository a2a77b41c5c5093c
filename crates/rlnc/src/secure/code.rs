//! The short code a sender prints and a receiver is given: a number and
//! three words, e.g. `417-harbor-velvet-zebra`, ≈ 34 bits. That is enough
//! for a PAKE, where an attacker gets one online guess per handshake and a
//! wrong guess ends it (2^-34 per try); it is never usable offline.

use alloc::string::String;
use core::fmt;

/// Words of a code: 256 short, distinct, lower-case English words (one byte
/// each), written for sluicegate.
pub const WORDS: [&str; 256] = [
    "acorn", "adapt", "agent", "alarm", "album", "alpine", "amber", "anchor", "angle", "ankle", "apple", "apron",
    "arcade", "arrow", "atlas", "attic", "autumn", "avenue", "badge", "bakery", "bamboo", "banjo", "barrel", "basin",
    "beacon", "beaver", "bison", "blanket", "blossom", "border", "bottle", "bracket", "breeze", "bridge", "bronze",
    "bucket", "buffalo", "bundle", "butter", "cabin", "cactus", "camera", "candle", "canoe", "canyon", "carbon",
    "carpet", "castle", "cedar", "cement", "chalk", "cherry", "chimney", "cinema", "circus", "clover", "cobalt",
    "cobra", "coffee", "comet", "copper", "coral", "cotton", "cradle", "crater", "crayon", "crystal", "cupboard",
    "dagger", "daisy", "dancer", "desert", "diesel", "dolphin", "domino", "donkey", "dragon", "drum", "eagle", "easel",
    "echo", "elbow", "ember", "engine", "escape", "fabric", "falcon", "feather", "fence", "ferry", "fiddle", "finch",
    "forest", "fossil", "fountain", "fox", "galaxy", "garden", "garlic", "gazelle", "geyser", "ginger", "glacier",
    "globe", "goblet", "gravel", "guitar", "hammer", "harbor", "harvest", "hazel", "helmet", "hermit", "hollow",
    "honey", "horizon", "hornet", "husky", "igloo", "island", "ivory", "jacket", "jasmine", "jelly", "jigsaw",
    "jungle", "kayak", "kernel", "kettle", "kitten", "ladder", "lagoon", "lantern", "laser", "lava", "lemon", "lentil",
    "lizard", "lobster", "locket", "lotus", "magnet", "mango", "maple", "marble", "meadow", "melon", "meteor",
    "mirror", "mitten", "monkey", "mosaic", "muffin", "mural", "napkin", "nectar", "needle", "nickel", "noodle",
    "nutmeg", "nylon", "oasis", "ocean", "olive", "onion", "orbit", "orchid", "otter", "oyster", "paddle", "pancake",
    "panther", "parrot", "pebble", "pepper", "piano", "pickle", "pigeon", "pilot", "pirate", "planet", "plaza",
    "pocket", "polka", "pony", "poppy", "potato", "prairie", "puzzle", "quartz", "quiver", "rabbit", "radar", "raisin",
    "ranger", "raven", "rocket", "rubber", "saddle", "salmon", "sandal", "saturn", "scarf", "season", "shadow",
    "signal", "silver", "sketch", "sled", "socket", "sonnet", "spider", "spiral", "sponge", "spruce", "squirrel",
    "statue", "stone", "sugar", "summit", "sunset", "swallow", "tablet", "tango", "teapot", "temple", "thunder",
    "tiger", "timber", "toast", "tomato", "topaz", "tractor", "trumpet", "tulip", "tundra", "turtle", "umbrella",
    "unicorn", "valley", "velvet", "violin", "volcano", "waffle", "walnut", "walrus", "wander", "whistle", "willow",
    "window", "winter", "wizard", "yacht", "yellow", "zebra", "zigzag",
];

/// Highest number a code starts with (1..=999).
pub const MAX_NUMBER: u16 = 999;

/// A parsed or generated code.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Code {
    number: u16,
    words: [u8; 3],
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A code is a secret: never in logs by accident.
        f.write_str("Code(..)")
    }
}

/// Why a string is not a code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// Nothing given.
    #[error("the code is empty; it looks like 417-harbor-velvet-zebra")]
    Empty,
    /// The first part is not a number in 1..=999.
    #[error("the code must start with a number from 1 to 999, not {0:?}")]
    Number(String),
    /// A word not in the list (a typo).
    #[error("{word:?} (word {position} of the code) is not a code word; check the spelling")]
    UnknownWord {
        /// The word as typed.
        word: String,
        /// 1-based position among the words.
        position: usize,
    },
    /// Not three words after the number.
    #[error("the code has {0} words after the number, it needs 3")]
    WordCount(usize),
}

impl Code {
    /// A code from five random bytes (from the operating system's generator).
    pub fn from_random(random: [u8; 5]) -> Code {
        // 2^16 mod 999 bias: 65536 = 65 * 999 + 601, so numbers 1..=601 are
        // 66/65 times as likely as the rest; the code keeps > 33.9 bits.
        let n = u16::from_le_bytes([random[0], random[1]]);
        Code {
            number: n % MAX_NUMBER + 1,
            words: [random[2], random[3], random[4]],
        }
    }

    /// Parses a code as a user types it: case-insensitive, parts separated by
    /// `-` or spaces.
    ///
    /// # Errors
    /// [`CodeError`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Code, CodeError> {
        let mut parts = text
            .split(|c: char| c == '-' || c.is_whitespace())
            .filter(|p| !p.is_empty());
        let first = parts.next().ok_or(CodeError::Empty)?;
        let number = first
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=MAX_NUMBER).contains(n))
            .ok_or_else(|| CodeError::Number(first.into()))?;
        let mut words = [0u8; 3];
        let mut count = 0;
        for (i, part) in parts.enumerate() {
            let lower = part.to_ascii_lowercase();
            let index = WORDS
                .iter()
                .position(|w| *w == lower)
                .ok_or_else(|| CodeError::UnknownWord {
                    word: part.into(),
                    position: i + 1,
                })?;
            if let Some(slot) = words.get_mut(i) {
                *slot = index as u8;
            }
            count += 1;
        }
        if count != words.len() {
            return Err(CodeError::WordCount(count));
        }
        Ok(Code { number, words })
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number)?;
        for &w in &self.words {
            write!(f, "-{}", WORDS[usize::from(w)])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn words_are_distinct_short_and_lower_case() {
        let mut sorted = WORDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 256);
        assert!(
            WORDS
                .iter()
                .all(|w| (3..=8).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_lowercase()))
        );
    }

    #[test]
    fn every_code_prints_and_parses_back() {
        for seed in 0..2000u32 {
            let b = seed.wrapping_mul(2_654_435_761).to_le_bytes();
            let code = Code::from_random([b[0], b[1], b[2], b[3], b[0] ^ b[3]]);
            let text = code.to_string();
            assert_eq!(Code::parse(&text), Ok(code), "{text}");
            assert_eq!(Code::parse(&text.to_uppercase().replace('-', "  ")), Ok(code));
        }
    }

    #[test]
    fn typos_are_named() {
        assert_eq!(Code::parse("  "), Err(CodeError::Empty));
        assert_eq!(Code::parse("0-acorn-acorn-acorn"), Err(CodeError::Number("0".into())));
        assert_eq!(Code::parse("abc-acorn"), Err(CodeError::Number("abc".into())));
        assert_eq!(
            Code::parse("7-acorn-acron-zebra"),
            Err(CodeError::UnknownWord {
                word: "acron".into(),
                position: 2
            })
        );
        assert_eq!(Code::parse("7-acorn-zebra"), Err(CodeError::WordCount(2)));
        assert_eq!(Code::parse("7-acorn-zebra-fox-fox"), Err(CodeError::WordCount(4)));
        assert_eq!(
            alloc::format!("{:?}", Code::parse("7-acorn-zebra-fox").unwrap()),
            "Code(..)"
        );
    }
}
