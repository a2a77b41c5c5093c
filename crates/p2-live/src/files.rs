//! The picture files: snapshots (`DIR/<name>.png`) and what a display's `SAVE` asks for, each written to a
//! temporary name and renamed into place, so that nobody reads half a picture.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use sluicegate_p2::window_files::file_stem;
use sluicegate_p2_display::{Framebuffer, write_bmp, write_png};

/// Writes a display's snapshot as `dir/<name>.png`, the name lower-cased and escaped as the `--windows` files
/// are ([`file_stem`]).
pub(crate) fn write_snapshot(dir: &Path, name: &str, image: &Framebuffer) -> io::Result<PathBuf> {
    let path = dir.join(format!("{}.png", file_stem(name.as_bytes())));
    write_atomically(&path, |writer| write_png(image, writer))?;
    Ok(path)
}

/// Writes a `SAVE 'file'` inside `dir`: `file.bmp` as PNut does, or as named when `file` already ends in
/// `.bmp` or `.png` (then in that format). `file` holds no path (the display library refused those).
pub(crate) fn write_save(dir: &Path, file: &str, image: &Framebuffer) -> io::Result<PathBuf> {
    let lower = file.to_ascii_lowercase();
    let (name, png) = if lower.ends_with(".png") {
        (file.to_owned(), true)
    } else if lower.ends_with(".bmp") {
        (file.to_owned(), false)
    } else {
        (format!("{file}.bmp"), false)
    };
    let path = dir.join(name);
    write_atomically(&path, |writer| {
        if png {
            write_png(image, writer)
        } else {
            write_bmp(image, writer)
        }
    })?;
    Ok(path)
}

fn write_atomically(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) -> io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".part");
    let temporary = PathBuf::from(temporary);
    let result = File::create(&temporary).and_then(|file| {
        let mut writer = BufWriter::new(file);
        write(&mut writer)?;
        writer.flush()?;
        std::fs::rename(&temporary, path)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluicegate_p2_display::read_png;

    #[test]
    fn snapshots_are_named_like_window_files_and_saves_keep_their_format() {
        let dir = tempfile::tempdir().unwrap();
        let image = Framebuffer::from_pixels(2, 1, vec![0xFF0000, 0x0000FF]).unwrap();
        let path = write_snapshot(dir.path(), "My.Bitmap", &image).unwrap();
        assert_eq!(path, dir.path().join("my%2Ebitmap.png"));
        assert_eq!(read_png(&std::fs::read(&path).unwrap()).unwrap(), image);
        assert_eq!(
            write_save(dir.path(), "pic", &image).unwrap(),
            dir.path().join("pic.bmp")
        );
        assert_eq!(&std::fs::read(dir.path().join("pic.bmp")).unwrap()[..2], b"BM");
        let png = write_save(dir.path(), "Pic.PNG", &image).unwrap();
        assert_eq!(read_png(&std::fs::read(png).unwrap()).unwrap(), image);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|name| !name.ends_with(".part")), "{names:?}");
    }
}
