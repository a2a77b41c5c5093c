//! A pool of encoding workers: generation buffers are moved in, coded
//! packets come out in one pooled buffer per generation, in order.
//!
//! At most `max_in_flight` generations are inside the pool at once
//! ([`WorkerPool::submit`] waits for a result before accepting more), so
//! memory stays flat for any input size. Each worker runs under the core
//! [`Supervisor`]: a panicking worker is restarted with the job it held and
//! retries it, so no generation is lost (it commits a job only after
//! sending its result).
//!
//! ```
//! use sluicegate_rlnc::net::Chunker;
//! use sluicegate_rlnc::transfer::SenderConfig;
//! use sluicegate_rlnc::workers::{WorkerPool, WorkerPoolConfig};
//!
//! let coding = SenderConfig::new(1);
//! let data = vec![5u8; 200_000];
//! let mut pool = WorkerPool::new(WorkerPoolConfig::new(coding, 2)).unwrap();
//! let mut chunker = Chunker::new(&data[..], coding.generation_bytes(), 8);
//! let mut packets = 0;
//! let mut id = 0;
//! while let Some(chunk) = chunker.next_chunk().unwrap() {
//!     for done in pool.submit(id, chunk.data) {
//!         packets += done.count();
//!     }
//!     id += 1;
//! }
//! for done in pool.finish().unwrap() {
//!     packets += done.count();
//! }
//! assert_eq!(packets, 6 * 32); // ⌈200 000 / 38 400⌉ generations of K = 32
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use sluicegate_core::pool::{BufferPool, PoolBytes, Sizing};
use sluicegate_core::supervisor::{StopSignal, SupervisedWorker, Supervisor, WorkerError, WorkerEvent};

use crate::encoder::ConfigError;
use crate::packet::wire_len;
use crate::transfer::SenderConfig;
use crate::transfer::sender::write_generation_packets;

/// Pool settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkerPoolConfig {
    /// K, S, mode and session of the packets.
    pub coding: SenderConfig,
    /// Worker threads.
    pub workers: usize,
    /// Packets per generation: K, plus repair packets.
    pub packets_per_generation: u32,
    /// Generations inside the pool at most.
    pub max_in_flight: usize,
    /// Fault injection for tests: the first worker to meet this generation panics once.
    pub panic_once_at: Option<u32>,
}

impl WorkerPoolConfig {
    /// K packets per generation, `2 × workers` generations in flight.
    pub fn new(coding: SenderConfig, workers: usize) -> WorkerPoolConfig {
        WorkerPoolConfig {
            coding,
            workers: workers.max(1),
            packets_per_generation: u32::from(coding.k),
            max_in_flight: 2 * workers.max(1),
            panic_once_at: None,
        }
    }
}

/// One generation's coded packets, back to back in one pooled buffer.
#[derive(Debug)]
pub struct Encoded {
    /// Generation id.
    pub generation: u32,
    packets: PoolBytes,
    packet_len: usize,
}

impl Encoded {
    /// Number of packets.
    pub fn count(&self) -> usize {
        self.packets.len() / self.packet_len
    }

    /// Packet `i`, sharing the buffer (no copy, no allocation).
    ///
    /// # Panics
    /// If `i ≥ count()`.
    pub fn packet(&self, i: usize) -> PoolBytes {
        self.packets.slice(i * self.packet_len..(i + 1) * self.packet_len)
    }
}

struct Job {
    generation: u32,
    data: PoolBytes,
}

struct WorkerState {
    config: WorkerPoolConfig,
    jobs: Receiver<Job>,
    results: Sender<Encoded>,
    current: Option<Job>,
    output: BufferPool,
    panicked: Arc<AtomicBool>,
}

fn work(state: &mut WorkerState, stop: &StopSignal) {
    let packet_len = wire_len(state.config.coding.k, state.config.coding.symbol_size, false);
    loop {
        if state.current.is_none() {
            match state.jobs.recv_timeout(Duration::from_millis(20)) {
                Ok(job) => state.current = Some(job),
                Err(RecvTimeoutError::Timeout) if !stop.is_requested() => continue,
                Err(_) => return,
            }
        }
        let job = state.current.as_ref().expect("taken above");
        if state.config.panic_once_at == Some(job.generation) && !state.panicked.swap(true, Ordering::Relaxed) {
            panic!("injected fault at generation {}", job.generation);
        }
        let mut buf = state.output.acquire();
        let indices = 0..state.config.packets_per_generation;
        let n = write_generation_packets(
            &state.config.coding,
            job.generation,
            &job.data,
            indices,
            buf.spare_mut(),
        );
        buf.advance(n);
        let encoded = Encoded {
            generation: job.generation,
            packets: buf.freeze(),
            packet_len,
        };
        if state.results.send(encoded).is_err() {
            return;
        }
        // Commit only after handing the result on: a panic above retries the job.
        state.current = None;
    }
}

/// N supervised encoding workers with bounded in-flight generations and
/// in-order results.
#[derive(Debug)]
pub struct WorkerPool {
    jobs: Option<Sender<Job>>,
    results: Receiver<Encoded>,
    workers: Vec<SupervisedWorker<WorkerState>>,
    events: Receiver<WorkerEvent>,
    reorder: BTreeMap<u32, Encoded>,
    next_out: u32,
    in_flight: usize,
    max_in_flight: usize,
}

impl std::fmt::Debug for WorkerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerState")
            .field("busy", &self.current.is_some())
            .finish()
    }
}

/// Why the pool could not be started or finished.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerPoolError {
    /// K or S invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The OS refused a thread.
    #[error("cannot start a worker: {0}")]
    Spawn(#[from] std::io::Error),
    /// A worker kept panicking.
    #[error("{0}")]
    GaveUp(String),
}

impl WorkerPool {
    /// Starts the workers.
    ///
    /// # Errors
    /// [`WorkerPoolError`] for an invalid shape or a refused thread.
    pub fn new(config: WorkerPoolConfig) -> Result<WorkerPool, WorkerPoolError> {
        crate::encoder::check_shape(config.coding.k, config.coding.symbol_size)?;
        let max_in_flight = config.max_in_flight.max(1);
        let (jobs_tx, jobs_rx) = crossbeam_channel::bounded(max_in_flight);
        let (results_tx, results_rx) = crossbeam_channel::bounded(max_in_flight);
        let (events_tx, events_rx) = crossbeam_channel::bounded(64);
        let packet_len = wire_len(config.coding.k, config.coding.symbol_size, false);
        let output_bytes = packet_len * config.packets_per_generation as usize;
        // Results waiting to be reordered or read, plus one being filled per worker.
        let output = BufferPool::new(Sizing::Fixed(2 * max_in_flight + config.workers + 2), output_bytes);
        let panicked = Arc::new(AtomicBool::new(false));
        let workers = (0..config.workers.max(1))
            .map(|i| {
                let state = WorkerState {
                    config,
                    jobs: jobs_rx.clone(),
                    results: results_tx.clone(),
                    current: None,
                    output: output.clone(),
                    panicked: Arc::clone(&panicked),
                };
                Supervisor::new(format!("rlnc-encoder-{i}"))
                    .events(events_tx.clone())
                    .spawn(state, work)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WorkerPool {
            jobs: Some(jobs_tx),
            results: results_rx,
            workers,
            events: events_rx,
            reorder: BTreeMap::new(),
            next_out: 0,
            in_flight: 0,
            max_in_flight,
        })
    }

    /// Worker restarts so far.
    pub fn restarts(&self) -> u32 {
        self.workers.iter().map(SupervisedWorker::restarts).sum()
    }

    /// Supervisor events so far (restarts), drained.
    pub fn events(&self) -> Vec<WorkerEvent> {
        self.events.try_iter().collect()
    }

    /// Moves a generation (K·S bytes) in; returns the results now ready, in
    /// order. Waits while `max_in_flight` generations are inside.
    /// Generations must be submitted with ids 0, 1, 2, ….
    ///
    /// # Panics
    /// If every worker gave up.
    pub fn submit(&mut self, generation: u32, data: PoolBytes) -> Vec<Encoded> {
        let mut ready = Vec::new();
        while self.in_flight >= self.max_in_flight {
            self.take_result(&mut ready, true);
        }
        self.jobs
            .as_ref()
            .expect("not finished")
            .send(Job { generation, data })
            .expect("workers alive");
        self.in_flight += 1;
        self.take_result(&mut ready, false);
        ready
    }

    fn take_result(&mut self, ready: &mut Vec<Encoded>, wait: bool) {
        let got = if wait {
            self.results.recv().ok()
        } else {
            self.results.try_recv().ok()
        };
        if let Some(encoded) = got {
            self.in_flight -= 1;
            self.reorder.insert(encoded.generation, encoded);
        }
        while let Some(e) = self.reorder.remove(&self.next_out) {
            self.next_out += 1;
            ready.push(e);
        }
    }

    /// Waits for every submitted generation, returns the remaining results
    /// in order, and stops the workers.
    ///
    /// # Errors
    /// [`WorkerPoolError::GaveUp`] if a worker kept panicking.
    pub fn finish(mut self) -> Result<Vec<Encoded>, WorkerPoolError> {
        let mut ready = Vec::new();
        while self.in_flight > 0 {
            self.take_result(&mut ready, true);
        }
        self.jobs = None;
        for worker in self.workers.drain(..) {
            worker.stop();
            worker
                .join()
                .map_err(|e: WorkerError<WorkerState>| WorkerPoolError::GaveUp(e.to_string()))?;
        }
        Ok(ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Chunker;
    use crate::packet::{Packet, ParseOptions};
    use crate::{Decoder, Mode};

    fn run(config: WorkerPoolConfig, data: &[u8]) -> (Vec<u8>, u32) {
        let mut pool = WorkerPool::new(config).unwrap();
        let c = config.coding;
        let mut chunker = Chunker::new(data, c.generation_bytes(), config.max_in_flight + 4);
        let mut out = Vec::new();
        let mut decode = |e: Encoded| {
            let mut d = Decoder::new(e.generation, c.k, c.symbol_size).unwrap();
            for i in 0..e.count() {
                let p = e.packet(i);
                d.receive(&Packet::parse(&p, &ParseOptions::default()).unwrap())
                    .unwrap();
            }
            out.extend_from_slice(d.data().unwrap());
        };
        let mut id = 0;
        while let Some(chunk) = chunker.next_chunk().unwrap() {
            pool.submit(id, chunk.data).into_iter().for_each(&mut decode);
            id += 1;
        }
        let restarts = pool.restarts();
        pool.finish().unwrap().into_iter().for_each(&mut decode);
        out.truncate(data.len());
        (out, restarts)
    }

    #[test]
    fn results_come_back_in_order_and_decode() {
        let data: Vec<u8> = (0..1_000_003u32).map(|i| (i ^ (i >> 8)) as u8).collect();
        for mode in [Mode::Systematic, Mode::Random] {
            let mut coding = SenderConfig::new(3);
            coding.mode = mode;
            coding.k = 16;
            let mut config = WorkerPoolConfig::new(coding, 3);
            config.packets_per_generation = 20;
            assert!(run(config, &data).0 == data, "{mode:?}");
        }
    }

    #[test]
    fn a_panicking_worker_is_restarted_and_no_generation_is_lost() {
        let data: Vec<u8> = (0..500_000u32).map(|i| (i * 7) as u8).collect();
        let mut config = WorkerPoolConfig::new(SenderConfig::new(4), 2);
        config.panic_once_at = Some(5);
        let mut pool = WorkerPool::new(config).unwrap();
        let mut chunker = Chunker::new(&data[..], config.coding.generation_bytes(), 8);
        let mut seen = Vec::new();
        let mut id = 0;
        while let Some(chunk) = chunker.next_chunk().unwrap() {
            seen.extend(pool.submit(id, chunk.data).into_iter().map(|e| e.generation));
            id += 1;
        }
        let events = pool.events.clone();
        seen.extend(pool.finish().unwrap().into_iter().map(|e| e.generation));
        assert!(id > 5);
        assert_eq!(seen, (0..id).collect::<Vec<_>>());
        let events: Vec<_> = events.try_iter().collect();
        assert!(
            matches!(events[..], [WorkerEvent::Restarted { restarts: 1, .. }]),
            "{events:?}"
        );
        let (out, _) = run(config, &data);
        assert!(out == data);
    }
}
