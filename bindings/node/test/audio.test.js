'use strict'
// Real capture through the binding: a tone played into a PulseAudio null sink, recorded from its monitor.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { AudioCapture } = require('../index.js')
const { PulseServer, NULL_SINK, sleep, toneFrequency } = require('./pulse.js')

let server
let tone
// One 440 Hz tone plays throughout: it also makes the null sink render in short blocks (see pulse.js).
before(async () => {
  server = await PulseServer.start()
  tone = server.playTone(440, 0.5)
  await tone.playing()
})
after(() => {
  tone.stop()
  server.stop()
})

/** Records `ms` of the null sink's monitor, copying each chunk out and releasing it at once. */
async function record(options, ms) {
  const capture = new AudioCapture({ server: server.address, source: `${NULL_SINK}.monitor`, ...options })
  const chunks = []
  const addresses = []
  capture.on('data', (buf) => {
    addresses.push(capture.bufferAddress(buf))
    chunks.push(Buffer.from(buf))
    if (!options.autoRelease) assert.equal(capture.release(buf), options.useExternalBuffer !== false)
  })
  const ended = new Promise((resolve, reject) => {
    capture.on('end', resolve)
    capture.on('error', reject)
  })
  const first = new Promise((resolve) => capture.once('data', resolve))
  capture.start()
  await first
  await sleep(ms)
  capture.stop()
  await ended
  await sleep(20) // the finalizers of the last released Buffers run on the next turn of the loop
  return { audio: Buffer.concat(chunks), chunks, addresses, pool: capture.getPoolStats(), delivery: capture.getDeliveryStats() }
}

test('captures a 440 Hz tone from the null sink and the frequency is right', async () => {
  const { audio, chunks, pool, delivery } = await record({ format: 'f32le', channels: 1, chunkMs: 10 }, 1500)
  assert.ok(chunks.length >= 100, `${chunks.length} chunks in 1.5 s of 10 ms chunks`)
  const samples = new Float32Array(audio.buffer, audio.byteOffset, audio.length / 4).subarray(48000 * 0.3)
  const peak = samples.reduce((max, s) => Math.max(max, Math.abs(s)), 0)
  assert.ok(peak > 0.3 && peak < 0.7, `peak ${peak} for a tone at half scale`)
  const frequency = toneFrequency(samples, 48000)
  assert.ok(Math.abs(frequency - 440) < 440 * 0.01, `measured ${frequency} Hz`)
  assert.equal(delivery.externalBuffers, chunks.length)
  assert.equal(delivery.released, chunks.length)
  assert.equal(pool.inUse, 0)
  assert.ok(pool.hitRate >= 99.9, `hit rate ${pool.hitRate}`)
})

test('getPoolStats() has exactly the original fields plus inUse and highWater', async () => {
  const { pool } = await record({ bufferPoolStrategy: 'fixed', bufferPoolSize: 8, format: 's16le', chunkMs: 20 }, 300)
  assert.deepEqual(Object.keys(pool).sort(), [
    'currentPoolSize', 'dynamicAllocations', 'highWater', 'hitRate', 'inUse', 'maxPoolSize', 'poolHits', 'poolMisses',
  ])
  assert.equal(pool.maxPoolSize, 8)
  assert.equal(pool.currentPoolSize, 8)
  assert.ok(pool.poolHits > 0)
  for (const value of Object.values(pool)) assert.equal(typeof value, 'number')
})

test('capture Buffers are the pooled memory: a fixed pool of 4 gives at most 4 addresses', async () => {
  const { chunks, addresses, pool } = await record({ bufferPoolStrategy: 'fixed', bufferPoolSize: 4, autoRelease: true, chunkMs: 10 }, 800)
  assert.ok(chunks.length >= 40, `${chunks.length} chunks`)
  // JavaScript more than 4 chunks (40 ms) late on a loaded machine gets one-off buffers (misses, fresh addresses).
  assert.ok(pool.poolMisses <= chunks.length / 10, `${pool.poolMisses} misses`)
  assert.ok(new Set(addresses).size <= 4 + pool.poolMisses, `${new Set(addresses).size} distinct addresses`)
})

test('useExternalBuffer: false delivers copies and returns each pooled buffer at once', async () => {
  const { chunks, delivery, pool } = await record({ useExternalBuffer: false, chunkMs: 10 }, 300)
  assert.ok(chunks.length > 0)
  assert.equal(delivery.copies, chunks.length)
  assert.equal(delivery.externalBuffers, 0)
  assert.equal(pool.inUse, 0)
})

test('a missing source is an error at start', () => {
  const capture = new AudioCapture({ server: server.address, source: 'no_such_source' })
  assert.throws(() => capture.start(), /no_such_source|not found/i)
})
