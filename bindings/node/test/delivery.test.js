'use strict'
// The delivery path driven by the synthetic source (same threadsafe function, pool and Buffers as a capture):
// release modes, a 30,000-chunk run with heap and RSS flat, address reuse, the copy fallback, the drop policy.
// Run with --expose-gc.
//
// Pool sizes: a Buffer's pooled memory returns when its finalizer runs, which Node schedules for the next turn
// of the event loop after release(); Node's threadsafe functions deliver up to 1,000 queued calls per turn. So
// a producer can have up to QUEUE (256) + 1,000 buffers in flight while JavaScript releases promptly, and a
// pool that must never miss is sized for that: 1,536 buffers of 1 ms of 48 kHz stereo f32 (384 B) = 590 KB.
// The producer waits for room in the queue (`blocking`) except in the drop-policy test, so that a loaded
// machine makes a test slower, not different.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { SyntheticSource } = require('../index.js')

assert.equal(typeof global.gc, 'function', 'run with node --expose-gc')

const tick = () => new Promise((resolve) => setImmediate(resolve))

/** Runs a synthetic source to its end; `onData(buf, source)` sees each Buffer. */
async function run(options, onData = () => {}) {
  const source = new SyntheticSource({
    chunkBytes: 384,
    bufferPoolStrategy: 'fixed',
    bufferPoolSize: 1536,
    blocking: true,
    ...options,
  })
  source.on('data', (buf) => onData(buf, source))
  const ended = new Promise((resolve) => source.on('end', resolve))
  source.start()
  await ended
  await tick() // finalizers of detached Buffers run on the next turn
  await tick()
  return source
}

test('30,000 chunks released promptly: hit rate >= 99.9 %, heap and RSS flat', async () => {
  const samples = []
  let seen = 0
  let last = -1
  const source = await run({ chunks: 30000, intervalUs: 100 }, (buf, s) => {
    const number = buf.readUInt32LE(0)
    assert.ok(number > last, 'chunks arrive in order')
    last = number
    seen++
    s.release(buf)
    if (seen % 5000 === 0) {
      // Sampled after a full collection, so only what is really retained counts.
      global.gc()
      samples.push({ heap: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss })
    }
  })
  const pool = source.getPoolStats()
  const delivery = source.getDeliveryStats()
  assert.equal(delivery.delivered, 30000)
  assert.equal(seen, 30000)
  assert.equal(delivery.finalized, delivery.delivered)
  assert.equal(pool.inUse, 0)
  assert.ok(pool.hitRate >= 99.9, `hit rate ${pool.hitRate} %`)
  assert.ok(samples.length >= 5)
  // From the first sample (5,000 chunks, everything warmed up) to the last: 25,000 Buffers went through.
  const heapGrowth = samples.at(-1).heap - samples[0].heap
  const rssGrowth = samples.at(-1).rss - samples[0].rss
  console.log(`heap growth ${heapGrowth} B, RSS growth ${rssGrowth} B over ${samples.length} samples`)
  assert.ok(heapGrowth < 1 << 20, `heap grew ${heapGrowth} bytes`)
  assert.ok(rssGrowth < 8 << 20, `RSS grew ${rssGrowth} bytes`)
})

test('autoRelease: the Buffer is valid in the callback and detached after it', async () => {
  const kept = []
  const source = await run({ chunks: 2000, intervalUs: 100, autoRelease: true }, (buf) => {
    assert.equal(buf.length, 384)
    kept.push(buf)
  })
  assert.ok(kept.every((buf) => buf.length === 0), 'released Buffers are detached')
  assert.ok(source.getPoolStats().hitRate >= 99.9, `hit rate ${source.getPoolStats().hitRate}`)
  assert.equal(source.getDeliveryStats().released, source.getDeliveryStats().delivered)
})

test('without release, buffers come back only at garbage collection', async () => {
  let held = []
  const source = await run({ chunks: 300, intervalUs: 200, bufferPoolSize: 64 }, (buf) => held.push(buf))
  const before = source.getDeliveryStats()
  assert.equal(before.heldByJs, before.delivered - before.finalized)
  assert.ok(source.getPoolStats().poolMisses > 0, 'a pool of 64 cannot serve 300 held Buffers')
  held = null
  // Finalizers run a turn or two after the collection that found the Buffers unreachable.
  for (let i = 0; i < 50 && source.getDeliveryStats().heldByJs > 0; i++) {
    global.gc()
    await tick()
  }
  const after = source.getDeliveryStats()
  assert.equal(after.heldByJs, 0)
  assert.equal(after.finalized, after.delivered)
  assert.equal(source.getPoolStats().inUse, 0)
})

test('the Buffer is the pooled memory: addresses recur across the pool cycle', async () => {
  const addresses = new Map()
  const source = await run({ chunks: 400, intervalUs: 1000, bufferPoolSize: 8 }, (buf, s) => {
    const address = s.bufferAddress(buf)
    addresses.set(address, (addresses.get(address) ?? 0) + 1)
    s.release(buf)
  })
  const pool = source.getPoolStats()
  // A loaded machine may let JavaScript fall 8 chunks behind: those chunks are one-off allocations (misses).
  assert.ok(pool.poolMisses < 40, `${pool.poolMisses} misses`)
  assert.ok(addresses.size <= 8 + pool.poolMisses, `${addresses.size} distinct addresses from a pool of 8`)
  const counts = [...addresses.values()].sort((a, b) => b - a)
  const pooled = counts.slice(0, 8).reduce((sum, count) => sum + count, 0)
  assert.ok(pooled >= 400 - pool.poolMisses, `the pool's 8 addresses carried ${pooled} of 400 chunks`)
  assert.ok(counts[0] >= 50, `the same memory comes back: the commonest address carried ${counts[0]} chunks`)

  // Copies held at once all live at different addresses, none of them the pool's.
  const copies = []
  await run({ chunks: 200, intervalUs: 100, useExternalBuffer: false }, (buf, s) => copies.push(s.bufferAddress(buf)))
  assert.equal(new Set(copies).size, 200)
})

test('release() refuses Buffers it did not hand out and double releases', async () => {
  await run({ chunks: 1 }, (buf, s) => {
    assert.equal(s.release(Buffer.alloc(16)), false)
    assert.equal(s.release(buf), true)
    assert.equal(s.release(buf), false)
    assert.equal(buf.length, 0)
  })
})

test('a runtime that refuses external buffers gets copies, counted as copiedFallbacks', async () => {
  let seen = 0
  const source = await run({ chunks: 500, intervalUs: 100, _forbidExternalBuffers: true }, (buf, s) => {
    assert.equal(buf.readUInt32LE(0), seen++)
    assert.equal(s.release(buf), false, 'a copy is not released')
  })
  const delivery = source.getDeliveryStats()
  assert.equal(delivery.copiedFallbacks, 500)
  assert.equal(delivery.externalBuffers, 0)
  assert.equal(source.getPoolStats().inUse, 0)
  assert.equal(source.getPoolStats().poolMisses, 0, 'the pooled buffer returns as soon as it is copied')
})

test('a slow consumer: the queue stays bounded and drops are counted', async () => {
  const source = await run({ chunks: 5000, intervalUs: 0, blocking: false }, (buf, s) => {
    const until = Date.now() + 1
    while (Date.now() < until);
    s.release(buf)
  })
  const delivery = source.getDeliveryStats()
  assert.ok(delivery.droppedChunks > 0, 'JavaScript at 1 ms a chunk falls behind')
  assert.equal(delivery.delivered + delivery.droppedChunks, 5000)
  // In flight at most: the queue, one turn's delivered-but-not-yet-finalized Buffers (1,000), one in hand.
  const highWater = source.getPoolStats().highWater
  assert.ok(highWater <= delivery.queueCapacity + 1002, `high water ${highWater}`)
})
