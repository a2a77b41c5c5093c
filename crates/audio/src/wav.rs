//! A WAV (RIFF/WAVE) writer that can always be finished: the header is written with zero sizes first and
//! patched by [`WavWriter::finish`] (or [`WavWriter::update_header`] on the way), so a capture that ends by
//! Ctrl-C or a lost server still leaves a file every reader accepts.

use std::io::{self, Seek, SeekFrom, Write};

use crate::format::{SampleFormat, StreamSpec};

/// Why a WAV file could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WavError {
    /// The underlying writer failed.
    #[error("writing the WAV file: {0}")]
    Io(#[from] io::Error),
    /// RIFF sizes are 32-bit: a WAV file holds at most 4 GiB of samples.
    #[error("WAV data would exceed 4 GiB")]
    TooLong,
}

// RIFF header (12) + "fmt " chunk (8 + 18) + "fact" chunk (8 + 4) + "data" chunk header (8).
const HEADER_BYTES: u32 = 12 + 26 + 12 + 8;
// Multimedia Programming Interface and Data Specifications 1.0: WAVE_FORMAT_PCM and WAVE_FORMAT_IEEE_FLOAT.
const FORMAT_PCM: u16 = 1;
const FORMAT_IEEE_FLOAT: u16 = 3;

/// Writes interleaved little-endian samples of one [`StreamSpec`] as a WAV file.
///
/// # Examples
/// ```
/// use std::io::Cursor;
/// use sluicegate_audio::{StreamSpec, WavWriter};
///
/// let mut wav = WavWriter::new(Cursor::new(Vec::new()), StreamSpec::default())?;
/// wav.write_samples(&0.5f32.to_le_bytes().repeat(2))?;
/// let bytes = wav.finish()?.into_inner();
/// assert_eq!(&bytes[..4], b"RIFF");
/// assert_eq!(bytes.len(), 58 + 8);
/// # Ok::<(), sluicegate_audio::WavError>(())
/// ```
#[derive(Debug)]
pub struct WavWriter<W: Write + Seek> {
    writer: W,
    spec: StreamSpec,
    data_bytes: u32,
}

impl<W: Write + Seek> WavWriter<W> {
    /// Writes a header with empty sizes at the writer's current position, which must be its start.
    ///
    /// # Errors
    /// [`WavError::Io`] if the writer fails.
    pub fn new(writer: W, spec: StreamSpec) -> Result<Self, WavError> {
        let mut wav = WavWriter {
            writer,
            spec,
            data_bytes: 0,
        };
        let header = wav.header();
        wav.writer.write_all(&header)?;
        Ok(wav)
    }

    /// Appends samples (whole frames, as captured).
    ///
    /// # Errors
    /// [`WavError::TooLong`] past 4 GiB (nothing is written), [`WavError::Io`] if the writer fails.
    pub fn write_samples(&mut self, samples: &[u8]) -> Result<(), WavError> {
        let len = u32::try_from(samples.len()).map_err(|_| WavError::TooLong)?;
        let total = self
            .data_bytes
            .checked_add(len)
            .filter(|total| total.checked_add(HEADER_BYTES - 8).is_some())
            .ok_or(WavError::TooLong)?;
        self.writer.write_all(samples)?;
        self.data_bytes = total;
        Ok(())
    }

    /// Sample bytes written so far.
    pub fn data_bytes(&self) -> u32 {
        self.data_bytes
    }

    /// Rewrites the header with the sizes so far and returns to the end, so the file is valid even if the
    /// process is killed before [`finish`](Self::finish).
    ///
    /// # Errors
    /// [`WavError::Io`] if seeking or writing fails.
    pub fn update_header(&mut self) -> Result<(), WavError> {
        let header = self.header();
        self.writer.seek(SeekFrom::Start(0))?;
        self.writer.write_all(&header)?;
        self.writer.seek(SeekFrom::End(0))?;
        self.writer.flush()?;
        Ok(())
    }

    /// Writes the final sizes and hands back the writer.
    ///
    /// # Errors
    /// [`WavError::Io`] if seeking or writing fails.
    pub fn finish(mut self) -> Result<W, WavError> {
        self.update_header()?;
        Ok(self.writer)
    }

    fn header(&self) -> [u8; HEADER_BYTES as usize] {
        let spec = self.spec;
        let format_tag = match spec.format {
            SampleFormat::S16Le => FORMAT_PCM,
            SampleFormat::F32Le => FORMAT_IEEE_FLOAT,
        };
        let block_align = spec.frame_bytes() as u16;
        let frames = self.data_bytes / u32::from(block_align);
        let mut header = [0u8; HEADER_BYTES as usize];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            header[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(b"RIFF");
        put(&(HEADER_BYTES - 8 + self.data_bytes).to_le_bytes());
        put(b"WAVE");
        put(b"fmt ");
        put(&18u32.to_le_bytes());
        put(&format_tag.to_le_bytes());
        put(&u16::from(spec.channels).to_le_bytes());
        put(&spec.rate.to_le_bytes());
        put(&(spec.rate * u32::from(block_align)).to_le_bytes());
        put(&block_align.to_le_bytes());
        put(&(spec.format.sample_bytes() as u16 * 8).to_le_bytes());
        put(&0u16.to_le_bytes()); // cbSize: no extension
        // A "fact" chunk (frame count) is required for non-PCM formats and harmless for PCM.
        put(b"fact");
        put(&4u32.to_le_bytes());
        put(&frames.to_le_bytes());
        put(b"data");
        put(&self.data_bytes.to_le_bytes());
        header
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn written(spec: StreamSpec, samples: &[u8]) -> Vec<u8> {
        let mut wav = WavWriter::new(Cursor::new(Vec::new()), spec).unwrap();
        wav.write_samples(samples).unwrap();
        wav.finish().unwrap().into_inner()
    }

    #[test]
    fn hound_reads_back_s16_samples() {
        let spec = StreamSpec {
            format: SampleFormat::S16Le,
            rate: 44_100,
            channels: 2,
        };
        let samples: Vec<i16> = vec![0, -1, 32767, -32768, 1234, -4321];
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut reader = hound::WavReader::new(Cursor::new(written(spec, &bytes))).unwrap();
        let read = reader.spec();
        assert_eq!((read.channels, read.sample_rate, read.bits_per_sample), (2, 44_100, 16));
        assert_eq!(read.sample_format, hound::SampleFormat::Int);
        assert_eq!(reader.samples::<i16>().collect::<Result<Vec<_>, _>>().unwrap(), samples);
    }

    #[test]
    fn hound_reads_back_f32_samples() {
        let spec = StreamSpec {
            format: SampleFormat::F32Le,
            rate: 48_000,
            channels: 1,
        };
        let samples = [0.0f32, 0.5, -1.0, 0.25];
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut reader = hound::WavReader::new(Cursor::new(written(spec, &bytes))).unwrap();
        assert_eq!(reader.spec().sample_format, hound::SampleFormat::Float);
        assert_eq!(reader.duration(), 4);
        assert_eq!(reader.samples::<f32>().collect::<Result<Vec<_>, _>>().unwrap(), samples);
    }

    #[test]
    fn an_updated_header_describes_what_was_written_so_far() {
        let spec = StreamSpec {
            format: SampleFormat::S16Le,
            rate: 8_000,
            channels: 1,
        };
        let mut wav = WavWriter::new(Cursor::new(Vec::new()), spec).unwrap();
        wav.write_samples(&[1, 0, 2, 0]).unwrap();
        wav.update_header().unwrap();
        wav.write_samples(&[3, 0]).unwrap();
        let snapshot = wav.writer.get_ref().clone();
        let reader = hound::WavReader::new(Cursor::new(&snapshot[..snapshot.len() - 2])).unwrap();
        assert_eq!(
            reader.duration(),
            2,
            "the header written mid-way counts the first two samples"
        );
        assert_eq!(
            u32::from_le_bytes(snapshot[4..8].try_into().unwrap()),
            HEADER_BYTES - 8 + 4
        );
    }

    #[test]
    fn data_beyond_four_gib_is_refused_without_writing() {
        let spec = StreamSpec::default();
        let mut wav = WavWriter::new(Cursor::new(Vec::new()), spec).unwrap();
        wav.data_bytes = u32::MAX - (HEADER_BYTES - 8); // RIFF size at its maximum
        assert!(matches!(wav.write_samples(&[0; 8]), Err(WavError::TooLong)));
        assert_eq!(wav.writer.get_ref().len(), HEADER_BYTES as usize);
    }
}
