/**
 * Loading a kubeconfig, and bearer tokens read from a file: a kubeconfig user's `token-file` and
 * the in-cluster service account token, both re-read the way client-go re-reads them
 * (transport/token_source.go: cachingTokenSource over fileTokenSource).
 *
 * client-node reads a `token-file` once, at load, untrimmed and relative to the working directory,
 * and its in-cluster FileAuth re-reads the token every minute, untrimmed, sending an empty file as
 * no token at all and failing every request while the file cannot be read. Here both go through
 * TokenFile instead.
 */
import { findHomeDir, KubeConfig, type User } from '@kubernetes/client-node'
import { existsSync, readFileSync } from 'node:fs'
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path'
import { isMap, isSeq, parseDocument } from 'yaml'
import { logger } from '../log.ts'

const log = logger('kube-config')

/** How long a token read from a file is used before the file is read again (client-go: a minute). */
export const TOKEN_FILE_REREAD_MS = 60_000

/**
 * A bearer token kept in a file that something else rotates (the kubelet's projected service
 * account token, a `kubectl create token … > file`). As client-go's: white space around the token
 * is not part of it (such files end in a newline), an empty file is no token, the file is read at
 * most once a minute, and a read that fails or finds the file empty keeps the last good token
 * (logged, once per distinct failure) rather than failing every request until the file is back.
 */
export class TokenFile {
  readonly path: string
  #token: string | undefined
  /** When the file was last read, successfully or not (Date.now()). */
  #readAt = -Infinity
  /** The failure last logged, so that a file that stays unreadable is logged once. */
  #failure: string | undefined

  /** `fallback`: the token to send until the file gives one (client-go: the kubeconfig's inline token beside the file). */
  constructor (path: string, fallback?: string) {
    this.path = path
    const t = fallback?.trim()
    this.#token = t === '' ? undefined : t
  }

  /** The token to send; throws only while no token was ever had. */
  token (): string {
    const now = Date.now()
    if (this.#token !== undefined && now - this.#readAt < TOKEN_FILE_REREAD_MS) return this.#token
    let read: string
    try {
      read = readFileSync(this.path, 'utf8').trim()
      if (read === '') throw new Error(`read an empty token from file ${this.path}`)
    } catch (err) {
      const message = (err as Error).message
      if (this.#token === undefined) throw new Error(`bearer token file: ${message}`, { cause: err })
      this.#readAt = now
      if (message !== this.#failure) log.warn({ err: message, path: this.path }, 'cannot read the bearer token file again: still sending the last token read from it')
      this.#failure = message
      return this.#token
    }
    if (this.#failure !== undefined) log.info({ path: this.path }, 'the bearer token file reads again')
    this.#failure = undefined
    this.#token = read
    this.#readAt = now
    return read
  }

  /**
   * The next token() reads the file again: after a 401, so that a token rotated and revoked within
   * the minute is not sent again (client-go's bearer round tripper waits out its minute).
   */
  expire (): void {
    this.#readAt = -Infinity
  }
}

/** The auth provider name of a user whose token comes from a TokenFile. */
const PROVIDER = 'dealyard-token-file'

/**
 * A client-node authenticator for the users whose token comes from a file: their authProvider is
 * `{ name: PROVIDER, config: { 'token-file': path, token?: fallback } }` (not client-node's
 * `tokenFile` key, which its own FileAuth would take first).
 */
export class TokenFileAuth {
  readonly #files = new Map<string, TokenFile>()

  isAuthProvider (user: User): boolean {
    return user?.authProvider?.name === PROVIDER
  }

  async applyAuthentication (user: User, opts: { headers?: Record<string, unknown> }): Promise<void> {
    const config = user.authProvider.config as { 'token-file': string, token?: string }
    let file = this.#files.get(config['token-file'])
    if (file === undefined) {
      file = new TokenFile(config['token-file'], config.token)
      this.#files.set(file.path, file)
    }
    opts.headers ??= {}
    opts.headers.Authorization = `Bearer ${file.token()}`
  }

  /** Every token file is read again at its next use. */
  expire (): void {
    for (const f of this.#files.values()) f.expire()
  }
}

const registered = new WeakMap<KubeConfig, TokenFileAuth>()

/**
 * The TokenFileAuth of `kc`, registered on first use; users that client-node's FileAuth would
 * serve (the in-cluster user: `authProvider: { name: 'tokenFile', config: { tokenFile } }`) move
 * to it, so that one implementation reads every token file. Idempotent.
 */
export function tokenFileAuth (kc: KubeConfig): TokenFileAuth {
  let auth = registered.get(kc)
  if (auth === undefined) {
    auth = new TokenFileAuth()
    kc.addAuthenticator(auth)
    registered.set(kc, auth)
  }
  for (const [i, user] of (kc.users ?? []).entries()) {
    const provider = user.authProvider as { name?: string, config?: { tokenFile?: unknown } } | undefined
    // client-node's order: Azure, GCP and exec come before FileAuth, which takes any config.tokenFile.
    if (user.exec != null || provider?.name === 'azure' || provider?.name === 'gcp') continue
    const path = provider?.config?.tokenFile
    if (typeof path !== 'string' || path === '') continue
    kc.users[i] = { ...user, authProvider: { name: PROVIDER, config: { 'token-file': path } } }
  }
  return auth
}

/**
 * Loads the kubeconfig the usual way: an explicit path, $KUBECONFIG (files merged as client-node
 * merges them), ~/.kube/config, then in-cluster. A user's `token-file` is read again as client-go
 * reads it (TokenFile), and a relative one is taken relative to the kubeconfig file's directory, as
 * client-go takes it (client-node reads it relative to the working directory, and refuses to load
 * the kubeconfig when it is not found there).
 */
export function loadKubeConfig (path?: string): KubeConfig {
  const kc = new KubeConfig()
  const files = path != null ? [path] : defaultKubeconfigFiles()
  const tokenFiles: TokenFileUser[] = []
  if (files.length === 0) {
    kc.loadFromDefault()
  } else {
    tokenFiles.push(...loadFile(kc, files[0]!))
    for (const file of files.slice(1)) {
      const more = new KubeConfig()
      tokenFiles.push(...loadFile(more, file))
      kc.mergeConfig(more)
    }
  }
  for (const { name, path } of tokenFiles) {
    const i = kc.users.findIndex((u) => u.name === name)
    const user = kc.users[i]
    // An exec plugin or auth provider of its own decides the token itself.
    if (user === undefined || user.exec != null || user.authProvider != null) continue
    // client-node's token: the inline one beside the file, else the file as read at load. As in
    // client-go (transport.NewBearerAuthWithRefreshRoundTripper) the file wins whenever it reads,
    // and that token is sent when it does not.
    kc.users[i] = { ...user, token: undefined, authProvider: { name: PROVIDER, config: { 'token-file': path, token: user.token } } }
  }
  tokenFileAuth(kc)
  return kc
}

/** The files client-node's loadFromDefault reads (none in-cluster). */
function defaultKubeconfigFiles (): string[] {
  const env = process.env.KUBECONFIG
  if (env != null && env !== '') return env.split(delimiter).filter((f) => f !== '')
  const home = findHomeDir()
  const file = home == null ? undefined : join(home, '.kube', 'config')
  return file != null && existsSync(file) ? [file] : []
}

interface TokenFileUser { name: string, path: string }

/**
 * client-node's loadFromFile, with every user's token-file made absolute against the file's
 * directory first (the document rewritten only when one is relative), the file read once. Returns
 * those users.
 */
function loadFile (kc: KubeConfig, file: string): TokenFileUser[] {
  const text = readFileSync(file, 'utf8')
  const doc = parseDocument(text)
  const found: TokenFileUser[] = []
  let relative = false
  const users = doc.errors.length === 0 ? doc.get('users') : undefined
  for (const entry of isSeq(users) ? users.items : []) {
    if (!isMap(entry)) continue
    const name = entry.get('name')
    const path = entry.getIn(['user', 'token-file'])
    if (typeof name !== 'string' || typeof path !== 'string' || path === '') continue
    if (isAbsolute(path)) {
      found.push({ name, path })
    } else {
      const absolute = resolve(dirname(file), path)
      entry.setIn(['user', 'token-file'], absolute)
      found.push({ name, path: absolute })
      relative = true
    }
  }
  // What client-node's loadFromFile does, from the text read here once.
  kc.loadFromString(relative ? doc.toString({ lineWidth: 0 }) : text)
  kc.makePathsAbsolute(dirname(file))
  return found
}
