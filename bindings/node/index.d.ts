import { EventEmitter } from 'node:events'

export interface PoolStats {
  poolHits: number
  poolMisses: number
  dynamicAllocations: number
  currentPoolSize: number
  maxPoolSize: number
  /** Percentage of acquisitions served by a pooled buffer (100 when there were none). */
  hitRate: number
  inUse: number
  highWater: number
}

export interface DeliveryStats {
  /** Chunks turned into Buffers on the JavaScript thread. */
  delivered: number
  /** External Buffers over pooled memory. */
  externalBuffers: number
  /** Copies asked for (`useExternalBuffer: false`). */
  copies: number
  /** Copies made because the runtime refused external buffers (Electron's V8 sandbox). */
  copiedFallbacks: number
  /** Chunks dropped because JavaScript was a full queue behind. */
  droppedChunks: number
  /** External Buffers whose finalizer ran (their memory is back in the pool). */
  finalized: number
  /** Buffers detached by `release` or `autoRelease`. */
  released: number
  /** External Buffers JavaScript holds now. */
  heldByJs: number
  /** Deliveries the queue holds at most. */
  queueCapacity: number
}

export interface BufferOptions {
  /** The Buffer is the pooled Rust memory (default true); false gives copies. */
  useExternalBuffer?: boolean
  /** Release each Buffer when the `data` listeners return: it is valid only during the callback. */
  autoRelease?: boolean
}

export interface PoolOptions {
  bufferPoolStrategy?: 'fixed' | 'adaptive'
  /** Buffers of a fixed pool (default 50). */
  bufferPoolSize?: number
  /** Least buffers of an adaptive pool (default 50). */
  bufferPoolMin?: number
  /** Most buffers of an adaptive pool (default 200). */
  bufferPoolMax?: number
}

export interface AudioCaptureOptions extends BufferOptions, PoolOptions {
  /** PulseAudio server string (`unix:/run/user/1000/pulse/native`); default: libpulse's lookup. */
  server?: string
  /** A source by name (a microphone, or a sink's `.monitor`). */
  source?: string
  /** One application's stream alone, by `application.name` or binary. */
  app?: string
  /** One application's stream alone, by process id. */
  pid?: number
  format?: 'f32le' | 's16le'
  sampleRate?: number
  channels?: number
  chunkMs?: number
}

declare class Stream<Data> extends EventEmitter {
  stop(): void
  getPoolStats(): PoolStats
  getDeliveryStats(): DeliveryStats
  /**
   * Returns a Buffer to the pool now. The Buffer is detached: its length becomes 0 and it must not be read
   * afterwards. False for a Buffer not handed out by this stream as external, or already released.
   */
  release(buffer: Buffer): boolean
  /** The address of the Buffer's first byte, from its data pointer (diagnostic). */
  bufferAddress(buffer: Buffer): number
  on(event: 'data', listener: (data: Data) => void): this
  on(event: 'error', listener: (error: Error) => void): this
  on(event: 'end', listener: () => void): this
  once(event: 'data', listener: (data: Data) => void): this
  once(event: 'error', listener: (error: Error) => void): this
  once(event: 'end', listener: () => void): this
}

export declare class AudioCapture extends Stream<Buffer> {
  constructor(options?: AudioCaptureOptions)
  /** Connects and starts recording; throws when the server, source or application cannot be found. */
  start(): this
}

export interface P2Message {
  /** `db_packet`, `cog0`…`cog7`, `debugger0`…`debugger7`, `backtick_window`, `terminal_output`, `invalid_cog`. */
  type: string
  cog: number | null
  /** The window a backtick line declares or updates. */
  window: string | null
  data: Buffer
}

export type P2Options = BufferOptions &
  ({ port: string; baud?: number } | { replay: string; realtime?: boolean } | { simulate: 'hsv16' | 'mixed' | 'demo' })

export declare function openP2(options: P2Options): Stream<P2Message>

export interface SyntheticOptions extends BufferOptions, PoolOptions {
  chunks: number
  chunkBytes?: number
  intervalUs?: number
  /** Wait for room in the queue instead of dropping (measures JavaScript's pace). */
  blocking?: boolean
}

/** Test and bench source through the same delivery path as a capture. */
export declare class SyntheticSource extends Stream<Buffer> {
  constructor(options: SyntheticOptions)
  start(): this
}
