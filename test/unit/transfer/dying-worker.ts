// A stand-in for the piece hasher thread that dies on its first message, as the real one does when
// it runs out of memory (an uncaught error ends a worker thread).
import { parentPort } from 'node:worker_threads'

parentPort!.once('message', () => { throw new Error('simulated: JS heap out of memory') })
