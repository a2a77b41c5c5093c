'use strict'
// The JavaScript face of the addon: EventEmitters around the native streams.
//
// Buffers given to `data` listeners are, by default (`useExternalBuffer: true`), the pooled Rust memory itself:
// treat them as read-only. Each returns to the pool when its finalizer runs: at garbage collection, or at once
// after `release(buf)` (explicit) or after the `data` listeners return (`autoRelease: true`). A released Buffer
// is detached: its length becomes 0 and it must not be used again (copy what you keep first).

const { EventEmitter } = require('node:events')
const native = require('./native.js')

const DATA = 0
const ERROR = 1
const END = 2

function bufferMode(options) {
  if (options._forbidExternalBuffers) return 'forbid-external'
  return options.useExternalBuffer === false ? 'copy' : 'external'
}

function poolOptions(options, defaults) {
  const strategy = options.bufferPoolStrategy ?? defaults.strategy
  return {
    strategy,
    size: options.bufferPoolSize,
    min: options.bufferPoolMin,
    max: options.bufferPoolMax,
  }
}

class NativeEmitter extends EventEmitter {
  constructor(options) {
    super()
    this._options = options
    this._autoRelease = Boolean(options.autoRelease)
    this._native = null
    this._ended = false
  }

  _deliver(event, buffer, text, type, cog, window) {
    if (event === DATA) {
      this._emitData(buffer, type, cog, window)
      if (this._autoRelease) this._native.release(buffer)
    } else if (event === ERROR) {
      this.emit('error', new Error(text))
    } else if (event === END) {
      this._ended = true
      this.emit('end')
    }
  }

  _callback() {
    return (event, buffer, text, type, cog, window) => this._deliver(event, buffer, text, type, cog, window)
  }

  _running() {
    if (!this._native) throw new Error('not started')
    return this._native
  }

  /** Asks the source to stop; `end` follows once it has. */
  stop() {
    if (this._native) this._native.stop()
  }

  /** `{ poolHits, poolMisses, dynamicAllocations, currentPoolSize, maxPoolSize, hitRate, inUse, highWater }`. */
  getPoolStats() {
    return this._running().poolStats()
  }

  /** `{ delivered, externalBuffers, copies, copiedFallbacks, droppedChunks, finalized, released, heldByJs, queueCapacity }`. */
  getDeliveryStats() {
    return this._running().deliveryStats()
  }

  /**
   * Returns a Buffer from `data` to the pool now instead of at garbage collection. The Buffer is detached:
   * its length becomes 0 and it must not be read afterwards. Returns false for a Buffer that is not one of
   * this stream's external Buffers, or is already released.
   */
  release(buffer) {
    return this._running().release(buffer)
  }

  /** The address of a Buffer's first byte, from its data pointer in Rust (a diagnostic for zero copy). */
  bufferAddress(buffer) {
    return this._running().bufferAddress(buffer)
  }
}

class AudioCapture extends NativeEmitter {
  constructor(options = {}) {
    super(options)
  }

  /** Connects and starts recording; throws when the server, source or application cannot be found. */
  start() {
    if (this._native) throw new Error('already started')
    const o = this._options
    this._native = native.startAudio(
      {
        server: o.server,
        source: o.source,
        app: o.app,
        pid: o.pid,
        format: o.format,
        sampleRate: o.sampleRate,
        channels: o.channels,
        chunkMs: o.chunkMs,
        bufferMode: bufferMode(o),
        pool: poolOptions(o, { strategy: 'adaptive' }),
      },
      this._callback(),
    )
    return this
  }

  _emitData(buffer) {
    this.emit('data', buffer)
  }
}

class P2Stream extends NativeEmitter {
  _emitData(buffer, type, cog, window) {
    this.emit('data', { type, cog: cog ?? null, window: window ?? null, data: buffer })
  }
}

/** Opens a Propeller 2 debug stream: `{ port, baud } | { replay, realtime } | { simulate }`; messages come as `data`. */
function openP2(options = {}) {
  const stream = new P2Stream(options)
  stream._native = native.openP2(
    {
      port: options.port,
      baud: options.baud,
      replay: options.replay,
      realtime: options.realtime,
      simulate: options.simulate,
      bufferMode: bufferMode(options),
    },
    stream._callback(),
  )
  return stream
}

/**
 * Test and bench source through the same delivery path as a capture: `chunks` pooled chunks of `chunkBytes`
 * (the first 4 bytes the chunk number, little-endian), one every `intervalUs` microseconds.
 */
class SyntheticSource extends NativeEmitter {
  start() {
    if (this._native) throw new Error('already started')
    const o = this._options
    this._native = native.startSynthetic(
      {
        chunks: o.chunks,
        chunkBytes: o.chunkBytes ?? 3840,
        intervalUs: o.intervalUs ?? 0,
        blocking: o.blocking,
        bufferMode: bufferMode(o),
        pool: poolOptions(o, { strategy: 'fixed' }),
      },
      this._callback(),
    )
    return this
  }

  _emitData(buffer) {
    this.emit('data', buffer)
  }
}

module.exports = { AudioCapture, openP2, SyntheticSource }
