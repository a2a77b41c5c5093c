'use strict'
// Copy vs external Buffers, side by side, through the synthetic source (the capture's delivery path without
// a sound server): chunks/s delivered, heap and ArrayBuffer growth per second, pool hit rate, in four modes.
//
//   node --expose-gc bench/bench.js [chunks] [chunkBytes] [intervalUs]
//
// Defaults: 30,000 chunks of 3,840 B (10 ms of 48 kHz stereo f32, the capture default) in three runs: flat out
// with the producer waiting for room (JavaScript's own pace), 1 chunk / 100 µs (100x real time; a slower
// JavaScript drops, counted), and 10,000 chunks at 1 chunk / ms. Pool: adaptive 50..200 (the capture default).
// Growth figures are sampled without forcing a collection, as an application would see them.

const os = require('node:os')
const { SyntheticSource } = require('../index.js')

const chunks = Number(process.argv[2] ?? 30000)
const chunkBytes = Number(process.argv[3] ?? 3840)
// Flat out with backpressure (JavaScript's own pace), 100x real time, and real time for 1 ms chunks.
const RUNS =
  process.argv[4] !== undefined
    ? [{ intervalUs: Number(process.argv[4]), chunks }]
    : [
        { intervalUs: 0, blocking: true, chunks },
        { intervalUs: 100, chunks },
        { intervalUs: 1000, chunks: Math.min(chunks, 10000) },
      ]

const MODES = [
  { name: 'copy', options: { useExternalBuffer: false }, release: false },
  { name: 'external, GC-finalized', options: {}, release: false },
  { name: 'external, release(buf)', options: {}, release: true },
  { name: 'external, autoRelease', options: { autoRelease: true }, release: false },
]

function memory() {
  const usage = process.memoryUsage()
  return { heap: usage.heapUsed, arrayBuffers: usage.arrayBuffers, rss: usage.rss }
}

async function measure(mode, { intervalUs, blocking, chunks }) {
  if (global.gc) global.gc()
  const source = new SyntheticSource({
    chunks,
    chunkBytes,
    intervalUs,
    blocking,
    bufferPoolStrategy: 'adaptive',
    bufferPoolMin: 50,
    bufferPoolMax: 200,
    ...mode.options,
  })
  let bytes = 0
  source.on('data', (buf) => {
    bytes += buf[0] // touch the data, as a consumer would
    if (mode.release) source.release(buf)
  })
  const ended = new Promise((resolve) => source.on('end', resolve))
  const before = memory()
  const started = process.hrtime.bigint()
  source.start()
  await ended
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const after = memory()
  await new Promise((resolve) => setImmediate(resolve))
  const pool = source.getPoolStats()
  const delivery = source.getDeliveryStats()
  return {
    mode: mode.name,
    pace: blocking ? 'flat out, producer waits' : `1 chunk / ${intervalUs} µs`,
    chunks,
    chunksPerSecond: Math.round(delivery.delivered / seconds),
    dropped: delivery.droppedChunks,
    hitRate: pool.hitRate,
    heapPerSecond: Math.round((after.heap - before.heap) / seconds),
    arrayBuffersPerSecond: Math.round((after.arrayBuffers - before.arrayBuffers) / seconds),
    rssGrowth: after.rss - before.rss,
    seconds: seconds.toFixed(2),
    bytes,
  }
}

async function main() {
  console.log(`node ${process.version}, ${os.cpus()[0].model}, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)
  console.log(`chunks of ${chunkBytes} B, pool adaptive 50..200, queue 256\n`)
  console.log('| mode | producer pace | chunks | chunks/s delivered | dropped | pool hit rate | heap growth/s | ArrayBuffer growth/s | RSS growth | time |')
  console.log('|---|---|---|---|---|---|---|---|---|---|')
  for (const run of RUNS) {
    for (const mode of MODES) {
      const r = await measure(mode, run)
      const kb = (n) => `${(n / 1024).toFixed(0)} KiB`
      console.log(
        `| ${r.mode} | ${r.pace} | ${r.chunks} | ${r.chunksPerSecond} | ${r.dropped} | ${r.hitRate.toFixed(2)} % | ${kb(r.heapPerSecond)} | ${kb(r.arrayBuffersPerSecond)} | ${kb(r.rssGrowth)} | ${r.seconds} s |`,
      )
    }
  }
}

main()
