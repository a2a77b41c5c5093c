'use strict'
// A private PulseAudio server with a null sink, and a tone player, for the tests (the JavaScript twin of
// crates/audio/src/test_support.rs): its own runtime directory, anonymous auth, an explicit server string.

const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const NULL_SINK = 'sg_test'
const RATE = 48000

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

class PulseServer {
  static async start() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluicegate-node-pulse-'))
    for (const sub of ['home', 'config', 'runtime']) fs.mkdirSync(path.join(dir, sub))
    const server = new PulseServer(dir)
    await server._spawn()
    return server
  }

  constructor(dir) {
    this.dir = dir
    this.address = `unix:${path.join(dir, 'runtime', 'pulse', 'native')}`
    this.env = {
      ...process.env,
      XDG_RUNTIME_DIR: path.join(dir, 'runtime'),
      HOME: path.join(dir, 'home'),
      XDG_CONFIG_HOME: path.join(dir, 'config'),
      PULSE_SERVER: this.address,
    }
    delete this.env.PULSE_SINK
    delete this.env.PULSE_SOURCE
    this.children = []
  }

  async _spawn() {
    const log = fs.openSync(path.join(this.dir, 'pulseaudio.log'), 'w')
    this.child = spawn(
      'pulseaudio',
      [
        '-n', '--daemonize=no', '--exit-idle-time=-1', '--disallow-exit=false', '--system=false',
        '--realtime=false', '--high-priority=false', '--log-target=stderr',
        '-L', 'module-native-protocol-unix auth-anonymous=1',
        '-L', `module-null-sink sink_name=${NULL_SINK} rate=${RATE}`,
      ],
      { env: this.env, stdio: ['ignore', 'ignore', log] },
    )
    const deadline = Date.now() + 10000
    for (;;) {
      const info = spawnSync('pactl', ['--server', this.address, 'info'], { env: this.env, stdio: 'ignore' })
      if (info.status === 0) return
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`pulseaudio did not start:\n${fs.readFileSync(path.join(this.dir, 'pulseaudio.log'), 'utf8')}`)
      }
      await sleep(50)
    }
  }

  /** Plays a sine of `frequency` Hz (mono s16le, `amplitude` of full scale) into the null sink until stop(). */
  playTone(frequency, amplitude = 0.5) {
    const player = spawn(
      'pacat',
      ['--playback', '--raw', '--format=s16le', '--channels=1', `--rate=${RATE}`, `--device=${NULL_SINK}`, '--latency-msec=50'],
      { env: this.env, stdio: ['pipe', 'ignore', 'ignore'] },
    )
    const second = Buffer.alloc(RATE * 2)
    for (let n = 0; n < RATE; n++) {
      second.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * frequency * n) / RATE) * 32767), n * 2)
    }
    let playing = true
    const env = this.env
    const feed = () => {
      while (playing && player.stdin.write(second));
    }
    player.stdin.on('drain', feed)
    player.stdin.on('error', () => {})
    feed()
    this.children.push(player)
    return {
      /** Waits until the server lists the player's stream. */
      async playing() {
        const deadline = Date.now() + 10000
        for (;;) {
          const inputs = spawnSync('pactl', ['list', 'short', 'sink-inputs'], { env, encoding: 'utf8' })
          if (inputs.status === 0 && inputs.stdout.trim() !== '') return
          if (Date.now() > deadline) throw new Error('the tone player never started')
          await sleep(50)
        }
      },
      stop() {
        playing = false
        player.kill()
      },
    }
  }

  stop() {
    for (const child of this.children) child.kill()
    this.child.kill('SIGKILL')
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}

/** The dominant frequency of `samples` (at `rate`), from the rising zero crossings. */
function zeroCrossingFrequency(samples, rate) {
  let first = -1
  let last = -1
  let crossings = 0
  for (let i = 1; i < samples.length; i++) {
    if (samples[i - 1] < 0 && samples[i] >= 0) {
      if (first < 0) first = i
      else crossings++
      last = i
    }
  }
  return (crossings * rate) / (last - first)
}

/**
 * The tone's frequency, robust to gaps (a loaded machine can make the player underrun): the median of the
 * zero-crossing frequencies of 50 ms windows.
 */
function toneFrequency(samples, rate) {
  const window = rate / 20
  const estimates = []
  for (let start = 0; start + window <= samples.length; start += window) {
    estimates.push(zeroCrossingFrequency(samples.subarray(start, start + window), rate))
  }
  estimates.sort((a, b) => a - b)
  return estimates[Math.floor(estimates.length / 2)]
}

module.exports = { PulseServer, NULL_SINK, RATE, sleep, toneFrequency }
