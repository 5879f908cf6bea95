#!/usr/bin/env node
/**
 * The one `dealyard` binary. Each subcommand lives in its own module and is loaded only when
 * asked for, so `dealyard commp` does not pay for libp2p or the Kubernetes client.
 */
import { accessSync, constants, mkdirSync } from 'node:fs'
import { enableCompileCache } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

type Command = { summary: string, load: () => Promise<(argv: string[]) => Promise<number>> }

const commands: Record<string, Command> = {
  ingress: { summary: 'serve boost\'s deal protocols over libp2p; accepted proposals become StorageDeals', load: async () => (await import('./ingress.ts')).runIngress },
  transfer: { summary: 'download a deal\'s data with resume, checking CommP and indexing the CAR', load: async () => (await import('./transfer.ts')).runTransfer },
  verify: { summary: 'compute the piece CID (and index) of an imported file for an offline deal', load: async () => (await import('./verify.ts')).runVerify },
  client: { summary: 'propose deals to any mk1.2 provider, query their status, read the ask', load: async () => (await import('./client.ts')).runClient },
  commp: { summary: 'compute the piece commitment (CommP) of a file', load: async () => (await import('./commp.ts')).runCommp },
  crds: { summary: 'print the CustomResourceDefinitions as YAML', load: async () => (await import('./crds.ts')).runCrds }
}

function usage (): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length))
  return 'usage: dealyard <command> [flags]\n\ncommands:\n' +
    Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`).join('\n') +
    '\n\nRun `dealyard <command> --help` for the flags of one command; `dealyard --version` prints the version.\n'
}

export async function main (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name == null) {
    process.stderr.write(usage())
    return 2
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage())
    return 0
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`dealyard ${(await import('../version.ts')).DEALYARD_VERSION}\n`)
    return 0
  }
  const cmd = commands[name]
  if (cmd == null) {
    process.stderr.write(`dealyard: unknown command "${name}"\n\n${usage()}`)
    return 2
  }
  let run: (argv: string[]) => Promise<number>
  try {
    run = await cmd.load()
  } catch (err) {
    process.stderr.write(`dealyard ${name}: not available in this build: ${(err as Error).message}\n`)
    return 1
  }
  return await run(rest)
}

/**
 * The compile cache's directory if it can be used. Node creates it with a recursive mkdir that
 * never returns when the parent exists but refuses children (TMPDIR=/proc/self spun at 100 % CPU
 * forever): so it is made here first, one level, and any failure means no cache.
 */
function compileCacheDir (): string | undefined {
  if (process.env.NODE_DISABLE_COMPILE_CACHE !== undefined) return undefined
  const dir = process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'node-compile-cache')
  try {
    mkdirSync(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return undefined
  }
  try { accessSync(dir, constants.W_OK) } catch { return undefined }
  return dir
}

if (import.meta.main) {
  // Node keeps the compiled (type-stripped) modules on disk: a transfer Job or a restarted ingress
  // starts in ~0.1 s instead of ~0.25 s. NODE_COMPILE_CACHE picks the directory (default: under the
  // temp dir); NODE_DISABLE_COMPILE_CACHE=1 turns it off; an unwritable directory only costs the speed-up.
  // Worker threads (the transfer's hash thread) start their own loader: they find the cache through
  // the environment (their boot fell from ~150 to ~90 ms).
  const dir = compileCacheDir()
  if (dir !== undefined) {
    const cache = enableCompileCache(dir)
    if (cache.directory !== undefined && process.env.NODE_DISABLE_COMPILE_CACHE === undefined) process.env.NODE_COMPILE_CACHE ??= cache.directory
  }
  process.exitCode = await main(process.argv.slice(2))
}
