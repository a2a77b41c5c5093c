//! Sample formats, stream specifications and chunk sizing: what a capture asks the server for, checked
//! before any connection is made.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The sample encodings a capture can deliver (both little-endian, interleaved by frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    /// Signed 16-bit integers.
    S16Le,
    /// 32-bit IEEE floats in −1.0..=1.0.
    F32Le,
}

impl SampleFormat {
    /// Bytes per sample of one channel.
    pub fn sample_bytes(self) -> usize {
        match self {
            SampleFormat::S16Le => 2,
            SampleFormat::F32Le => 4,
        }
    }

    /// The name used on the command line and by PulseAudio (`s16le`, `f32le`).
    pub fn name(self) -> &'static str {
        match self {
            SampleFormat::S16Le => "s16le",
            SampleFormat::F32Le => "f32le",
        }
    }
}

impl fmt::Display for SampleFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SampleFormat {
    type Err = SpecError;

    fn from_str(name: &str) -> Result<Self, SpecError> {
        match name.to_ascii_lowercase().as_str() {
            "s16le" | "s16" => Ok(SampleFormat::S16Le),
            "f32le" | "f32" | "float32le" => Ok(SampleFormat::F32Le),
            _ => Err(SpecError::UnknownFormat(name.to_owned())),
        }
    }
}

/// The highest channel count PulseAudio accepts (`PA_CHANNELS_MAX`).
pub const MAX_CHANNELS: u8 = 32;
/// The highest sample rate PulseAudio accepts (`PA_RATE_MAX`).
pub const MAX_RATE: u32 = 384_000 * 2;

/// Why a stream specification or chunk duration was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The format name is neither `s16le` nor `f32le`.
    #[error("unknown sample format {0:?} (expected s16le or f32le)")]
    UnknownFormat(String),
    /// The rate is zero or above what PulseAudio accepts.
    #[error("sample rate {0} Hz is outside 1..={MAX_RATE} Hz")]
    Rate(u32),
    /// The channel count is zero or above 32.
    #[error("channel count {0} is outside 1..={MAX_CHANNELS}")]
    Channels(u8),
    /// The chunk duration holds less than one frame.
    #[error("chunk duration {0:?} is shorter than one frame at this rate")]
    ChunkTooShort(Duration),
    /// The chunk duration is longer than a second.
    #[error("chunk duration {0:?} is longer than 1 s")]
    ChunkTooLong(Duration),
}

/// The shape of captured audio: encoding, frames per second, channels per frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamSpec {
    /// Sample encoding.
    pub format: SampleFormat,
    /// Frames per second.
    pub rate: u32,
    /// Channels per frame.
    pub channels: u8,
}

impl Default for StreamSpec {
    /// 48 kHz stereo f32le: what desktop sound servers mix in, so no conversion on the common path.
    fn default() -> Self {
        StreamSpec {
            format: SampleFormat::F32Le,
            rate: 48_000,
            channels: 2,
        }
    }
}

impl fmt::Display for StreamSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}ch {}Hz", self.format, self.channels, self.rate)
    }
}

impl StreamSpec {
    /// Checks the rate and channel count against PulseAudio's limits.
    ///
    /// # Errors
    /// [`SpecError::Rate`] or [`SpecError::Channels`].
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.rate == 0 || self.rate > MAX_RATE {
            return Err(SpecError::Rate(self.rate));
        }
        if self.channels == 0 || self.channels > MAX_CHANNELS {
            return Err(SpecError::Channels(self.channels));
        }
        Ok(())
    }

    /// Bytes per frame (one sample of every channel).
    pub fn frame_bytes(&self) -> usize {
        self.format.sample_bytes() * usize::from(self.channels)
    }

    /// Bytes per second of audio.
    pub fn bytes_per_second(&self) -> usize {
        self.frame_bytes() * self.rate as usize
    }

    /// The size of a chunk of `duration`, rounded down to whole frames, so that every chunk starts on a frame.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use sluicegate_audio::StreamSpec;
    /// // 10 ms of 48 kHz stereo f32: 480 frames of 8 bytes.
    /// assert_eq!(StreamSpec::default().chunk_bytes(Duration::from_millis(10)), Ok(3840));
    /// ```
    ///
    /// # Errors
    /// The spec's own errors, [`SpecError::ChunkTooShort`] when the duration holds no whole frame and
    /// [`SpecError::ChunkTooLong`] beyond a second (a pool of such buffers would be wasteful).
    pub fn chunk_bytes(&self, duration: Duration) -> Result<usize, SpecError> {
        self.validate()?;
        if duration > Duration::from_secs(1) {
            return Err(SpecError::ChunkTooLong(duration));
        }
        let frames = duration.as_nanos() * u128::from(self.rate) / 1_000_000_000;
        if frames == 0 {
            return Err(SpecError::ChunkTooShort(duration));
        }
        // At most one second of frames, so the cast cannot truncate.
        Ok(frames as usize * self.frame_bytes())
    }
}

/// Decodes interleaved samples of `format` into floats in −1.0..=1.0 (trailing partial samples ignored).
pub fn decode_samples(bytes: &[u8], format: SampleFormat) -> impl Iterator<Item = f32> + '_ {
    let width = format.sample_bytes();
    bytes.chunks_exact(width).map(move |sample| match format {
        SampleFormat::S16Le => f32::from(i16::from_le_bytes([sample[0], sample[1]])) / 32768.0,
        SampleFormat::F32Le => f32::from_le_bytes([sample[0], sample[1], sample[2], sample[3]]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_bytes_rounds_down_to_whole_frames() {
        let spec = StreamSpec {
            format: SampleFormat::S16Le,
            rate: 44_100,
            channels: 2,
        };
        // 441 frames in 10 ms; 44.1 frames in 1 ms rounds down to 44.
        assert_eq!(spec.chunk_bytes(Duration::from_millis(10)), Ok(441 * 4));
        assert_eq!(spec.chunk_bytes(Duration::from_millis(1)), Ok(44 * 4));
    }

    #[test]
    fn bad_specs_are_refused_with_the_offending_value() {
        let spec = StreamSpec::default();
        assert_eq!(StreamSpec { rate: 0, ..spec }.validate(), Err(SpecError::Rate(0)));
        assert_eq!(
            StreamSpec { channels: 0, ..spec }.validate(),
            Err(SpecError::Channels(0))
        );
        assert_eq!(
            StreamSpec { channels: 33, ..spec }.validate(),
            Err(SpecError::Channels(33))
        );
        let short = Duration::from_micros(10);
        assert_eq!(
            StreamSpec { rate: 8_000, ..spec }.chunk_bytes(short),
            Err(SpecError::ChunkTooShort(short))
        );
        assert_eq!(
            spec.chunk_bytes(Duration::from_secs(2)),
            Err(SpecError::ChunkTooLong(Duration::from_secs(2)))
        );
        assert_eq!(
            "f64le".parse::<SampleFormat>(),
            Err(SpecError::UnknownFormat("f64le".into()))
        );
    }

    #[test]
    fn formats_parse_from_their_names() {
        for format in [SampleFormat::S16Le, SampleFormat::F32Le] {
            assert_eq!(format.name().parse::<SampleFormat>(), Ok(format));
        }
    }

    #[test]
    fn decoding_maps_both_formats_to_unit_floats() {
        let s16: Vec<f32> = decode_samples(&[0x00, 0x80, 0xff, 0x7f, 0x00, 0x00], SampleFormat::S16Le).collect();
        assert_eq!(s16, [-1.0, 32767.0 / 32768.0, 0.0]);
        let f32_bytes: Vec<u8> = [0.5f32, -0.25].iter().flat_map(|v| v.to_le_bytes()).collect();
        let f32s: Vec<f32> = decode_samples(&f32_bytes, SampleFormat::F32Le).collect();
        assert_eq!(f32s, [0.5, -0.25]);
    }
}
