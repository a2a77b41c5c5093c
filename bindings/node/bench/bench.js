'use strict'
// Copy vs external Buffers, side by side, through the synthetic source (the capture's delivery path without
// a sound server): chunks/s delivered, heap and ArrayBuffer growth per second, pool hit rate, in four modes.
//
//   node --expose-gc bench/bench.js [chunks] [chunkBytes] [intervalUs]
//
// Defaults: 30,000 chunks of 3,840 B (10 ms of 48 kHz stereo f32, the capture default), produced as fast as
// the producer can (intervalUs 0: JavaScript is the bottleneck, so drops are counted too), then the same paced
// at 1 chunk / 100 µs. Pool: adaptive 50..200 (the capture default).

const os = require('node:os')
const { SyntheticSource } = require('../index.js')

const chunks = Number(process.argv[2] ?? 30000)
const chunkBytes = Number(process.argv[3] ?? 3840)
const intervals = process.argv[4] !== undefined ? [Number(process.argv[4])] : [0, 100]

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

async function measure(mode, intervalUs) {
  if (global.gc) global.gc()
  const source = new SyntheticSource({
    chunks,
    chunkBytes,
    intervalUs,
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
    intervalUs,
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
  console.log(`${chunks} chunks of ${chunkBytes} B, pool adaptive 50..200, queue 256\n`)
  console.log('| mode | producer interval | chunks/s delivered | dropped | pool hit rate | heap growth/s | ArrayBuffer growth/s | RSS growth | time |')
  console.log('|---|---|---|---|---|---|---|---|---|')
  for (const intervalUs of intervals) {
    for (const mode of MODES) {
      const r = await measure(mode, intervalUs)
      const kb = (n) => `${(n / 1024).toFixed(0)} KiB`
      console.log(
        `| ${r.mode} | ${intervalUs ? `${intervalUs} µs` : 'none (flat out)'} | ${r.chunksPerSecond} | ${r.dropped} | ${r.hitRate.toFixed(2)} % | ${kb(r.heapPerSecond)} | ${kb(r.arrayBuffersPerSecond)} | ${kb(r.rssGrowth)} | ${r.seconds} s |`,
      )
    }
  }
}

main()
