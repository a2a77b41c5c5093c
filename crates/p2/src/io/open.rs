//! One way to open a p2 source from a description, for every front end (the CLI's flags, the Node binding's
//! options object): which adapter, its defaults (the debug baud of `docs/p2-protocol.md` A.6), the reset pulse, and how
//! the pipeline treats the bytes ([`Origin`]).

use std::fmt;
use std::path::PathBuf;

use super::source::{
    DEFAULT_BAUD, Pace, ReplaySource, ResetLine, Scenario, SerialSource, SimulatedSource, Source, SourceError, Speed,
    StreamSource,
};
use super::transmit::Transmitter;
use crate::recording::Cut;

/// Where a session's bytes come from.
///
/// # Examples
/// ```
/// use sluicegate_p2::io::{Origin, SourceSpec, Scenario};
///
/// let spec = SourceSpec::Simulate { scenario: "demo".parse().unwrap(), pace: None };
/// assert_eq!(spec.to_string(), "the simulator");
/// assert_eq!(spec.origin(), Origin::Simulator);
/// let opened = spec.open().unwrap();
/// assert!(opened.cut.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceSpec {
    /// A serial port, 8N1, no flow control ([`SourceSpec::port`] gives the default baud).
    Port {
        /// The device path.
        path: String,
        /// The debug baud rate.
        baud: u32,
        /// The line to pulse after opening (A.6), if any.
        reset: Option<ResetLine>,
    },
    /// A capture file: ours, the reference terminal's USB traffic log or `.p2rec`, or raw bytes.
    Replay {
        /// The file.
        path: PathBuf,
        /// At the recorded pace, or as fast as it goes.
        speed: Speed,
    },
    /// Standard input.
    Stdin,
    /// A TCP server (a serial-to-network bridge).
    Tcp {
        /// `host:port`.
        address: String,
    },
    /// The built-in P2, in-process.
    Simulate {
        /// What it sends.
        scenario: Scenario,
        /// How fast; `None` for the scenario's own pace ([`Scenario::default_pace`]).
        pace: Option<Pace>,
    },
}

impl SourceSpec {
    /// A serial port at the default debug baud ([`DEFAULT_BAUD`]), not reset.
    pub fn port(path: impl Into<String>) -> Self {
        SourceSpec::Port {
            path: path.into(),
            baud: DEFAULT_BAUD,
            reset: None,
        }
    }

    /// How the pipeline should treat these bytes.
    pub fn origin(&self) -> Origin {
        match self {
            SourceSpec::Replay { speed, .. } => Origin::Recording(*speed),
            SourceSpec::Simulate { .. } => Origin::Simulator,
            SourceSpec::Port { .. } | SourceSpec::Stdin | SourceSpec::Tcp { .. } => Origin::Wire,
        }
    }

    /// Opens the source (and pulses a port's reset line), with its way back to the P2 where it has one.
    ///
    /// # Errors
    /// [`SourceError`] naming the port, file or address and what was wrong with it.
    pub fn open(&self) -> Result<Opened, SourceError> {
        let mut cut = None;
        let mut transmitter = None;
        let source: Box<dyn Source> = match self {
            SourceSpec::Port { path, baud, reset } => {
                let mut port = SerialSource::open(path, *baud)?;
                if let Some(line) = reset {
                    port.reset(*line)?;
                }
                transmitter = Some(port.transmitter()?);
                Box::new(port)
            }
            SourceSpec::Replay { path, speed } => {
                let replay = ReplaySource::open(path, *speed)?;
                cut = replay.cut();
                Box::new(replay)
            }
            SourceSpec::Stdin => Box::new(StreamSource::stdin()),
            SourceSpec::Tcp { address } => {
                let tcp = StreamSource::tcp(address)?;
                transmitter = Some(tcp.transmitter()?);
                Box::new(tcp)
            }
            SourceSpec::Simulate { scenario, pace } => {
                let simulator = SimulatedSource::new(&scenario.stream(), pace.unwrap_or(scenario.default_pace()));
                transmitter = Some(simulator.transmitter());
                Box::new(simulator)
            }
        };
        Ok(Opened {
            source,
            spec: self.clone(),
            cut,
            transmitter,
        })
    }

    /// Whether this input has a way back to the P2 (a serial port, TCP, the simulator; not a replay or
    /// standard input).
    pub fn can_transmit(&self) -> bool {
        matches!(
            self,
            SourceSpec::Port { .. } | SourceSpec::Tcp { .. } | SourceSpec::Simulate { .. }
        )
    }
}

/// Names the input in messages: `serial port /dev/ttyUSB0`, `TCP host:port`, the file's path, `standard
/// input`, `the simulator`.
impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Port { path, .. } => write!(f, "serial port {path}"),
            SourceSpec::Replay { path, .. } => write!(f, "{}", path.display()),
            SourceSpec::Stdin => f.write_str("standard input"),
            SourceSpec::Tcp { address } => write!(f, "TCP {address}"),
            SourceSpec::Simulate { .. } => f.write_str("the simulator"),
        }
    }
}

/// An open source and the description it was opened from.
pub struct Opened {
    /// The source, for [`Pipeline::start`](super::Pipeline::start).
    pub source: Box<dyn Source>,
    /// What was opened.
    pub spec: SourceSpec,
    /// For a `.sgrec` replay cut short: its incomplete last record, which is not played (worth a warning).
    pub cut: Option<Cut>,
    /// The way back to the P2: typed input, PC_KEY/PC_MOUSE replies, reset. `None` for a replay or standard
    /// input.
    pub transmitter: Option<Transmitter>,
}

impl Opened {
    /// A serial port opened by someone else: the ROM loader hands its port over after a download (B.1), with
    /// the bytes it already read given out first ([`SerialSource::with_pending`]).
    ///
    /// # Errors
    /// [`SourceError::Port`] if the port cannot be duplicated for its way back ([`SerialSource::transmitter`]).
    pub fn port(source: SerialSource, path: &str, baud: u32) -> Result<Self, SourceError> {
        let transmitter = Some(source.transmitter()?);
        Ok(Opened {
            source: Box::new(source),
            spec: SourceSpec::Port {
                path: path.to_owned(),
                baud,
                reset: None,
            },
            cut: None,
            transmitter,
        })
    }

    /// How the pipeline should treat these bytes.
    pub fn origin(&self) -> Origin {
        self.spec.origin()
    }
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("spec", &self.spec)
            .field("cut", &self.cut)
            .finish_non_exhaustive()
    }
}

/// Where the bytes come from, which decides how they are stamped, read and waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A capture: arrival times come from the file.
    Recording(Speed),
    /// The in-process simulator: stamped with our clock.
    Simulator,
    /// A port, TCP or stdin: stamped with our clock as they are read.
    Wire,
}

impl Origin {
    /// Whether arrival times are this run's clock (not a recording's), so that a delivery latency means
    /// something.
    pub fn is_live(self) -> bool {
        !matches!(self, Origin::Recording(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_description_names_its_input_and_origin() {
        let cases = [
            (
                SourceSpec::port("/dev/ttyUSB0"),
                "serial port /dev/ttyUSB0",
                Origin::Wire,
            ),
            (
                SourceSpec::Replay {
                    path: "s.sgrec".into(),
                    speed: Speed::Max,
                },
                "s.sgrec",
                Origin::Recording(Speed::Max),
            ),
            (SourceSpec::Stdin, "standard input", Origin::Wire),
            (
                SourceSpec::Tcp {
                    address: "localhost:9".into(),
                },
                "TCP localhost:9",
                Origin::Wire,
            ),
        ];
        for (spec, name, origin) in cases {
            assert_eq!((spec.to_string(), spec.origin()), (name.to_owned(), origin));
        }
        assert!(!Origin::Recording(Speed::Realtime).is_live());
        assert!(Origin::Simulator.is_live());
    }

    #[test]
    fn a_port_description_uses_the_debug_baud_and_opening_a_missing_one_names_it() {
        let spec = SourceSpec::port("/dev/does-not-exist-sg");
        assert!(matches!(
            spec,
            SourceSpec::Port {
                baud: 2_000_000,
                reset: None,
                ..
            }
        ));
        let error = spec.open().unwrap_err();
        assert!(matches!(error, SourceError::PortMissing { .. }), "{error}");
    }

    #[test]
    fn a_simulator_description_plays_its_scenario() {
        let mut opened = SourceSpec::Simulate {
            scenario: Scenario::Demo,
            pace: Some(Pace::Burst),
        }
        .open()
        .unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = Vec::new();
        while let crate::io::source::Read::Data { len, .. } = opened.source.read(&mut buf).unwrap() {
            bytes.extend_from_slice(&buf[..len]);
        }
        assert_eq!(bytes, Scenario::Demo.stream().bytes());
    }
}
