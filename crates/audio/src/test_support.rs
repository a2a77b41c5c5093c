//! A private PulseAudio server and tone players, for this crate's and the CLI's integration tests.
//!
//! Each [`PulseServer`] runs its own `pulseaudio` process with its own runtime directory and a null sink
//! named [`NULL_SINK`], so tests can run in parallel threads; the library is pointed at it through
//! [`PulseServer::address`] (an explicit server string, not the process-global `PULSE_SERVER`).
//! As root, `pulseaudio` warns that it is not meant to run as root but runs; anonymous authentication on
//! the socket spares the tests the cookie that lives in the user's home.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::event::Application;
use crate::target::Target;

/// The null sink every test server has, and its default output.
pub const NULL_SINK: &str = "sg_test";
/// The sample rate of the null sink and the tone players.
pub const RATE: u32 = 48_000;

/// A PulseAudio server that lives as long as this value. One at a time per test process: tone players
/// starved by a dozen servers and players at once underran and recorded partly silent tones (seen on the
/// 2-core CI machine), so each server waits for the previous one to be dropped.
#[derive(Debug)]
pub struct PulseServer {
    dir: PathBuf,
    child: Option<Child>,
    _turn: MutexGuard<'static, ()>,
}

impl PulseServer {
    /// Starts a server in a fresh temporary runtime directory and waits until it answers.
    ///
    /// # Panics
    /// If `pulseaudio` is missing (run `scripts/install-deps.sh`) or does not answer within 10 s.
    pub fn start() -> PulseServer {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poison| poison.into_inner());
        let dir = std::env::temp_dir().join(format!(
            "sluicegate-pulse-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        for sub in ["home", "config", "runtime"] {
            fs::create_dir_all(dir.join(sub)).expect("create the server's directories");
        }
        let mut server = PulseServer {
            dir,
            child: None,
            _turn: turn,
        };
        server.spawn();
        server
    }

    /// Starts the server again in the same directory (same socket) after [`kill`](Self::kill).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        let log = fs::File::create(self.dir.join("pulseaudio.log")).expect("create the server log");
        let mut command = Command::new("pulseaudio");
        self.set_env(&mut command);
        command
            .args([
                "-n",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--disallow-exit=false",
                "--system=false",
            ])
            .args(["--realtime=false", "--high-priority=false", "--log-target=stderr"])
            .args(["-L", "module-native-protocol-unix auth-anonymous=1"])
            .args(["-L", &format!("module-null-sink sink_name={NULL_SINK} rate={RATE}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run pulseaudio ({error}); install it with scripts/install-deps.sh"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let answered = Command::new("pactl")
                .args(["--server", &self.address(), "info"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success());
            if answered {
                return;
            }
            let exited = self.child.as_mut().and_then(|child| child.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                let log = fs::read_to_string(self.dir.join("pulseaudio.log")).unwrap_or_default();
                panic!("pulseaudio did not start ({exited:?}):\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server string to pass to the library (`CaptureConfig::server`) or `pactl --server`.
    pub fn address(&self) -> String {
        format!("unix:{}", self.runtime_dir().join("pulse/native").display())
    }

    fn runtime_dir(&self) -> PathBuf {
        self.dir.join("runtime")
    }

    /// A temporary directory the tests may write into; removed with the server.
    pub fn scratch_dir(&self) -> &Path {
        &self.dir
    }

    /// Points a client process at this server and nowhere else.
    pub fn set_env(&self, command: &mut Command) {
        command
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("HOME", self.dir.join("home"))
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("PULSE_SERVER", self.address())
            .env_remove("PULSE_SINK")
            .env_remove("PULSE_SOURCE");
    }

    /// Runs `pactl` against this server and returns its output.
    ///
    /// # Panics
    /// If `pactl` fails.
    pub fn pactl(&self, args: &[&str]) -> String {
        let mut command = Command::new("pactl");
        self.set_env(&mut command);
        let output = command.args(args).output().expect("run pactl");
        assert!(
            output.status.success(),
            "pactl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Starts a `pacat` process playing a sine of `frequency` Hz and `amplitude` (of full scale) into the
    /// null sink, as application `name`, until the player is dropped.
    pub fn play_tone(&self, name: &str, frequency: f64, amplitude: f64) -> Player {
        let mut command = Command::new("pacat");
        self.set_env(&mut command);
        command
            .args([
                "--playback",
                "--raw",
                "--format=s16le",
                "--channels=1",
                &format!("--rate={RATE}"),
            ])
            .arg(format!("--device={NULL_SINK}"))
            // The null sink renders in blocks of the lowest latency its streams ask for: without this it
            // starts with 2 s blocks, and a new recording would wait that long for its first audio; 50 ms
            // still rides out a loaded machine without underruns (gaps in the tone).
            .arg("--latency-msec=50")
            .arg(format!("--client-name={name}"))
            .arg(format!("--property=application.name={name}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = command
            .spawn()
            .expect("run pacat (scripts/install-deps.sh installs it)");
        let mut stdin = child.stdin.take().expect("piped stdin");
        // A second of tone, repeated until pacat is killed (then the write fails and the thread ends).
        let second: Vec<u8> = (0..RATE)
            .flat_map(|n| {
                let phase = 2.0 * std::f64::consts::PI * frequency * f64::from(n) / f64::from(RATE);
                ((amplitude * phase.sin() * 32767.0) as i16).to_le_bytes()
            })
            .collect();
        let feeder = std::thread::spawn(move || while stdin.write_all(&second).is_ok() {});
        let player = Player {
            child,
            feeder: Some(feeder),
        };
        self.wait_for_application(&Target::ApplicationPid(player.pid()));
        player
    }

    /// Waits until an application matching `target` plays on this server.
    ///
    /// # Panics
    /// After 10 s without it.
    pub fn wait_for_application(&self, target: &Target) -> Application {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let devices = crate::capture::list_devices(Some(&self.address())).expect("list the test server's devices");
            if let Some(app) = devices.applications.into_iter().find(|app| target.matches(app)) {
                return app;
            }
            assert!(Instant::now() < deadline, "application {target} never started playing");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PulseServer {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A tone-playing `pacat` process, killed on drop.
#[derive(Debug)]
pub struct Player {
    child: Child,
    feeder: Option<std::thread::JoinHandle<()>>,
}

impl Player {
    /// The player's process id (its `application.process.id` on the server).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(feeder) = self.feeder.take() {
            let _ = feeder.join();
        }
    }
}
