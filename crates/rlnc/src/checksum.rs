//! CRC-32C (Castagnoli), the packet checksum: the polynomial with hardware
//! support on x86-64 (SSE4.2 `crc32`) and aarch64, good burst-error
//! detection for datagrams.

const POLY_REFLECTED: u32 = 0x82F6_3B78;

const fn build_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut b = 0;
        while b < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY_REFLECTED } else { c >> 1 };
            b += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

/// Slicing-by-8 tables: eight bytes per step without hardware support.
static TABLES: [[u32; 256]; 8] = build_tables();

fn crc32c_portable(mut crc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) ^ crc;
        let hi = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
        crc = TABLES[7][(lo & 0xFF) as usize]
            ^ TABLES[6][((lo >> 8) & 0xFF) as usize]
            ^ TABLES[5][((lo >> 16) & 0xFF) as usize]
            ^ TABLES[4][(lo >> 24) as usize]
            ^ TABLES[3][(hi & 0xFF) as usize]
            ^ TABLES[2][((hi >> 8) & 0xFF) as usize]
            ^ TABLES[1][((hi >> 16) & 0xFF) as usize]
            ^ TABLES[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ TABLES[0][((crc ^ u32::from(b)) & 0xFF) as usize];
    }
    crc
}

/// # Safety
/// The CPU must support SSE4.2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
unsafe fn crc32c_sse42(crc: u32, data: &[u8]) -> u32 {
    use core::arch::x86_64::{_mm_crc32_u8, _mm_crc32_u64};
    let mut crc = u64::from(crc);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        crc = _mm_crc32_u64(crc, word);
    }
    let mut crc = crc as u32;
    for &b in chunks.remainder() {
        crc = _mm_crc32_u8(crc, b);
    }
    crc
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn has_sse42() -> bool {
    std::is_x86_feature_detected!("sse4.2")
}
#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn has_sse42() -> bool {
    cfg!(target_feature = "sse4.2")
}

/// CRC-32C of `data` (initial value and final XOR all-ones, as iSCSI/ext4).
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if has_sse42() {
        // SAFETY: SSE4.2 was detected above.
        return !unsafe { crc32c_sse42(!0, data) };
    }
    !crc32c_portable(!0, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_and_paths_agree() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(!crc32c_portable(!0, b"123456789"), 0xE306_9283);
        let data: alloc::vec::Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 3) as u8).collect();
        for len in [0, 1, 7, 8, 9, 63, 1000] {
            #[cfg(target_arch = "x86_64")]
            if has_sse42() {
                // SAFETY: SSE4.2 detected.
                let hw = unsafe { crc32c_sse42(!0, &data[..len]) };
                assert_eq!(hw, crc32c_portable(!0, &data[..len]), "len {len}");
            }
            assert_eq!(crc32c(&data[..len]), !crc32c_portable(!0, &data[..len]));
        }
    }
}
