//! Packed data (docs/p2-displays.md A.0, DDU `SetPack`/`NewPack`/`UnPack`): one number carries several
//! sub-samples, lowest field first, optionally bit-reversed within bytes (`ALT`) and sign-extended (`SIGNED`).

use crate::element::{Cursor, Keyword};

/// How each incoming number is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Packing {
    alt: bool,
    signed: bool,
    /// Bits per field (32 when unpacked).
    bits: u32,
    /// Fields per number.
    count: u32,
}

impl Default for Packing {
    fn default() -> Self {
        Self {
            alt: false,
            signed: false,
            bits: 32,
            count: 1,
        }
    }
}

impl Packing {
    fn new(key: Keyword, alt: bool, signed: bool) -> Self {
        let (bits, count) = match key {
            Keyword::Longs1Bit => (1, 32),
            Keyword::Longs2Bit => (2, 16),
            Keyword::Longs4Bit => (4, 8),
            Keyword::Longs8Bit => (8, 4),
            Keyword::Longs16Bit => (16, 2),
            Keyword::Words1Bit => (1, 16),
            Keyword::Words2Bit => (2, 8),
            Keyword::Words4Bit => (4, 4),
            Keyword::Words8Bit => (8, 2),
            Keyword::Bytes1Bit => (1, 8),
            Keyword::Bytes2Bit => (2, 4),
            Keyword::Bytes4Bit => (4, 2),
            _ => return Self::default(),
        };
        Self {
            alt,
            signed,
            bits,
            count,
        }
    }

    /// `KeyPack`, after the packing keyword `key` was read: up to two following keywords are taken, and count when
    /// they are `ALT` or `SIGNED`. PNut consumes the first following keyword even when it is neither (so
    /// `LONGS_2BIT TRACE 4` loses `TRACE`); that quirk is kept.
    pub(crate) fn from_directive(key: Keyword, cursor: &mut Cursor<'_>) -> Self {
        let (mut alt, mut signed) = (false, false);
        if let Some(first @ (Keyword::Alt | Keyword::Signed)) = cursor.next_key() {
            alt |= first == Keyword::Alt;
            signed |= first == Keyword::Signed;
            if let Some(second @ (Keyword::Alt | Keyword::Signed)) = cursor.next_key() {
                alt |= second == Keyword::Alt;
                signed |= second == Keyword::Signed;
            }
        }
        Self::new(key, alt, signed)
    }

    /// The sub-samples of one number, lowest field first.
    #[inline]
    pub(crate) fn unpack(self, value: i32) -> Unpacked {
        let mut v = value as u32;
        if self.alt && self.bits <= 1 {
            v = ((v >> 1) & 0x5555_5555) | ((v << 1) & 0xAAAA_AAAA);
        }
        if self.alt && self.bits <= 2 {
            v = ((v >> 2) & 0x3333_3333) | ((v << 2) & 0xCCCC_CCCC);
        }
        if self.alt && self.bits <= 4 {
            v = ((v >> 4) & 0x0F0F_0F0F) | ((v << 4) & 0xF0F0_F0F0);
        }
        Unpacked {
            packing: self,
            rest: v,
            left: self.count,
        }
    }
}

/// The fields of one number, as an iterator.
#[derive(Clone, Debug)]
pub(crate) struct Unpacked {
    packing: Packing,
    rest: u32,
    left: u32,
}

impl Iterator for Unpacked {
    type Item = i32;

    #[inline]
    fn next(&mut self) -> Option<i32> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let bits = self.packing.bits;
        if bits == 32 {
            return Some(self.rest as i32);
        }
        let mask = (1u32 << bits) - 1;
        let mut field = self.rest & mask;
        self.rest >>= bits;
        if self.packing.signed && (field >> (bits - 1)) & 1 == 1 {
            field |= !mask;
        }
        Some(field as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(key: Keyword, alt: bool, signed: bool, value: u32) -> Vec<i32> {
        Packing::new(key, alt, signed).unpack(value as i32).collect()
    }

    #[test]
    fn fields_lowest_first() {
        assert_eq!(fields(Keyword::Longs2Bit, false, false, 0xE4E4_E4E4)[..4], [0, 1, 2, 3]);
        assert_eq!(fields(Keyword::Longs2Bit, true, false, 0xE4E4_E4E4)[..4], [3, 2, 1, 0]);
        assert_eq!(fields(Keyword::Bytes4Bit, false, false, 0x1234_5678), [8, 7]);
        assert_eq!(
            fields(Keyword::Bytes4Bit, true, false, 0x1234_5678),
            [7, 8],
            "ALT swaps nibbles"
        );
        assert_eq!(fields(Keyword::Longs16Bit, false, true, 0x8000_7FFF), [0x7FFF, -0x8000]);
        assert_eq!(
            fields(Keyword::Words8Bit, false, true, 0xFFFF_80FF),
            [-1, -128],
            "words use the low 16 bits"
        );
        let bits = fields(Keyword::Bytes1Bit, true, false, 0x01);
        assert_eq!(bits, [0, 0, 0, 0, 0, 0, 0, 1], "ALT reverses the bits of a byte");
        assert_eq!(fields(Keyword::Longs1Bit, false, true, 1)[..2], [-1, 0]);
        assert_eq!(Packing::default().unpack(-5).collect::<Vec<_>>(), [-5]);
    }
}
