'use strict'
// openP2 on the built-in simulator: classified messages whose data is the pooled chunk memory.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { openP2 } = require('../index.js')

function collect(options, onMessage = () => {}) {
  const stream = openP2(options)
  const messages = []
  stream.on('data', (message) => {
    messages.push({ ...message, text: message.data.toString('latin1') })
    onMessage(message, stream)
  })
  return new Promise((resolve, reject) => {
    stream.on('error', reject)
    stream.on('end', () => setImmediate(() => resolve({ stream, messages })))
  })
}

test('the mixed simulation arrives classified, every message, in order', async () => {
  const { stream, messages } = await collect({ simulate: 'mixed', autoRelease: true })
  assert.equal(messages.length, 20000, 'the mixed scenario sends 20,000 messages and none is dropped')
  const types = new Set(messages.map((m) => m.type))
  for (const type of ['db_packet', 'backtick_window', 'terminal_output']) assert.ok(types.has(type), `${type} in ${[...types]}`)
  for (const message of messages) {
    const cog = /^(?:cog|debugger)(\d)$/.exec(message.type)
    assert.equal(message.cog, cog ? Number(cog[1]) : null, message.type)
    if (message.type === 'backtick_window') {
      assert.ok(message.text.startsWith('`'))
      assert.equal(typeof message.window, 'string')
    }
    assert.equal(message.data.length, 0, 'autoRelease detached the Buffer after the callback')
  }
  const delivery = stream.getDeliveryStats()
  assert.equal(delivery.externalBuffers, 20000)
  assert.equal(delivery.droppedChunks, 0)
  assert.equal(delivery.finalized, 20000)
  assert.equal(stream.getPoolStats().inUse, 0)
})

test('a backtick declaration names its window', async () => {
  const stream = openP2({ simulate: 'demo' })
  const message = await new Promise((resolve) => stream.on('data', (m) => m.type === 'backtick_window' && resolve(m)))
  stream.stop()
  assert.match(message.data.toString(), /^`TERM MyTerm/)
  assert.equal(message.window, 'MyTerm')
  await new Promise((resolve) => stream.on('end', resolve))
})

test('exactly one source is required', () => {
  assert.throws(() => openP2({}), /exactly one/)
  assert.throws(() => openP2({ simulate: 'mixed', replay: '/nonexistent' }), /exactly one/)
  assert.throws(() => openP2({ replay: '/nonexistent/file' }))
  assert.throws(() => openP2({ simulate: 'HSV16' }), /unknown scenario "HSV16": expected hsv16, mixed or demo/)
})

test('a replayed capture of raw bytes gives the same classified messages', async () => {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluicegate-node-p2-'))
  const file = path.join(dir, 'session.bin')
  fs.writeFileSync(file, '`TERM Log SIZE 40 10\r\n`Log \'hello\'\r\nCog0  INIT $0000_0000 $0000_0000 load\r\nplain text\r\n')
  try {
    const { messages } = await collect({ replay: file, realtime: false })
    assert.deepEqual(
      messages.map((m) => [m.type, m.cog, m.window]),
      [
        ['backtick_window', null, 'Log'],
        ['backtick_window', null, 'Log'],
        ['cog0', 0, null],
        ['terminal_output', null, null],
      ],
    )
    assert.equal(messages[1].text, "`Log 'hello'\r\n")
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
