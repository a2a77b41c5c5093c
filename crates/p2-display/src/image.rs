//! Image files from framebuffers: PNG (snapshots, tests) and 24-bit BMP (what PNut's `SAVE` writes). Both
//! encode into any [`Write`]; the library opens no file.

use std::io::{self, Write};

use crate::frame::Framebuffer;

/// The pixels as RGB bytes, row by row.
fn rgb_bytes(image: &Framebuffer) -> Vec<u8> {
    image
        .pixels()
        .iter()
        .flat_map(|&p| [(p >> 16) as u8, (p >> 8) as u8, p as u8])
        .collect()
}

/// Writes `image` as an 8-bit RGB PNG.
///
/// # Errors
/// The writer's I/O error, or the encoder's (an empty image).
pub fn write_png(image: &Framebuffer, writer: impl Write) -> io::Result<()> {
    let mut encoder = png::Encoder::new(writer, image.width(), image.height());
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(io::Error::other)?;
    writer.write_image_data(&rgb_bytes(image)).map_err(io::Error::other)?;
    writer.finish().map_err(io::Error::other)
}

/// Reads an 8-bit RGB or RGBA PNG (as [`write_png`] writes) back into a framebuffer (alpha dropped).
///
/// # Errors
/// Not a PNG, or another colour type or depth.
pub fn read_png(bytes: &[u8]) -> io::Result<Framebuffer> {
    let mut decoder = png::Decoder::new(io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(io::Error::other)?;
    let mut data = vec![
        0;
        reader
            .output_buffer_size()
            .ok_or_else(|| io::Error::other("PNG too large"))?
    ];
    let info = reader.next_frame(&mut data).map_err(io::Error::other)?;
    let channels = match (info.color_type, info.bit_depth) {
        (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
        (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
        other => return Err(io::Error::other(format!("unsupported PNG layout {other:?}"))),
    };
    let pixels = data[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|c| (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]))
        .collect();
    Framebuffer::from_pixels(info.width, info.height, pixels).ok_or_else(|| io::Error::other("PNG size mismatch"))
}

/// Writes `image` as a 24-bit uncompressed BMP (bottom-up rows padded to 4 bytes), as PNut's `SAVE` does.
///
/// # Errors
/// The writer's I/O error.
pub fn write_bmp(image: &Framebuffer, mut writer: impl Write) -> io::Result<()> {
    let (w, h) = (image.width(), image.height());
    let row = (w * 3).div_ceil(4) * 4;
    let data = row * h;
    let mut header = Vec::with_capacity(54);
    header.extend_from_slice(b"BM");
    header.extend_from_slice(&(54 + data).to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&54u32.to_le_bytes());
    header.extend_from_slice(&40u32.to_le_bytes());
    header.extend_from_slice(&(w as i32).to_le_bytes());
    header.extend_from_slice(&(h as i32).to_le_bytes());
    header.extend_from_slice(&1u16.to_le_bytes());
    header.extend_from_slice(&24u16.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&data.to_le_bytes());
    header.extend_from_slice(&[0; 16]);
    writer.write_all(&header)?;
    let mut line = vec![0u8; row as usize];
    for y in (0..h).rev() {
        for (x, &p) in image.row(y).iter().enumerate() {
            line[x * 3..x * 3 + 3].copy_from_slice(&[p as u8, (p >> 8) as u8, (p >> 16) as u8]);
        }
        writer.write_all(&line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip() {
        let image = Framebuffer::from_pixels(3, 2, vec![0xFF0000, 0x00FF00, 0x0000FF, 0x123456, 0, 0xFFFFFF]).unwrap();
        let mut bytes = Vec::new();
        write_png(&image, &mut bytes).unwrap();
        assert_eq!(read_png(&bytes).unwrap(), image);
        assert!(read_png(b"not a png").is_err());
    }

    #[test]
    fn bmp_layout() {
        let image = Framebuffer::from_pixels(1, 2, vec![0x112233, 0x445566]).unwrap();
        let mut bytes = Vec::new();
        write_bmp(&image, &mut bytes).unwrap();
        assert_eq!(bytes.len(), 54 + 2 * 4);
        assert_eq!(&bytes[..2], b"BM");
        // Bottom row first, blue-green-red, padded to 4 bytes.
        assert_eq!(&bytes[54..], [0x66, 0x55, 0x44, 0, 0x33, 0x22, 0x11, 0]);
    }
}
