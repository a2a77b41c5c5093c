// Compiled (not run) by test.sh with `tsc --noEmit --strict`: index.d.ts is valid and describes the API the
// tests use.
import { AudioCapture, openP2, SyntheticSource, type PoolStats, type DeliveryStats } from '../../index'

const capture = new AudioCapture({ source: 'sg_test.monitor', format: 'f32le', chunkMs: 10, bufferPoolStrategy: 'fixed', bufferPoolSize: 8 })
capture.on('data', (buf: Buffer) => {
  const address: number = capture.bufferAddress(buf)
  const released: boolean = capture.release(buf)
  void [address, released]
})
capture.on('error', (error: Error) => console.error(error.message))
capture.on('end', () => {
  const pool: PoolStats = capture.getPoolStats()
  const delivery: DeliveryStats = capture.getDeliveryStats()
  console.log(pool.hitRate, pool.inUse, pool.highWater, delivery.copiedFallbacks, delivery.droppedChunks)
})
capture.start().stop()

openP2({ simulate: 'demo', autoRelease: true }).on('data', ({ type, cog, window, data }) => {
  const kind: string = type
  const cogNumber: number | null = cog
  const name: string | null = window
  const bytes: Buffer = data
  void [kind, cogNumber, name, bytes]
})
openP2({ port: '/dev/ttyUSB0', baud: 2_000_000 })
openP2({ replay: 'session.p2rec', realtime: false })

new SyntheticSource({ chunks: 10, chunkBytes: 384, intervalUs: 100, blocking: true }).start()
