/**
 * A small REST client over any Kubernetes path, on top of client-node's KubeConfig (auth, TLS) and
 * undici. The generated client-node APIs are per-type and default patch calls to JSON Patch; the
 * operator runtime needs one generic client where content types, field managers and
 * resourceVersion preconditions are explicit.
 */
import { HttpMethod, KubeConfig, RequestContext, type V1ObjectMeta } from '@kubernetes/client-node'
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { StringDecoder } from 'node:string_decoder'
import { getGlobalDispatcher, type Dispatcher } from 'undici'
import { DealyardError } from '../errors.ts'
import { logger } from '../log.ts'
import { utf8Prefix } from '../utf8.ts'
import { kubeUserAgent } from '../version.ts'
import { tokenFileAuth, type TokenFileAuth } from './kubeconfig.ts'

const log = logger('kube-rest')

export interface ResourceCoords {
  group: string
  version: string
  plural: string
}

/** Any Kubernetes object: what the runtime needs to know of it (JSON from the apiserver). */
export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata?: V1ObjectMeta
}

export interface ObjectList<T> {
  items: T[]
  metadata: { resourceVersion?: string, continue?: string }
}

/** An error answer from the apiserver, with its HTTP status and Status reason kept as fields. */
export class KubeApiError extends DealyardError {
  readonly status: number
  readonly reason: string
  readonly details: unknown

  constructor (status: number, reason: string, message: string, details?: unknown) {
    super('ERR_KUBE_API', message, { retry: status >= 500 || status === 429 ? 'auto' : 'fatal' })
    this.name = 'KubeApiError'
    this.status = status
    this.reason = reason
    this.details = details
  }
}

/** An error answer: the Status object's reason and message when the body is one. */
function apiError (what: string, status: number, text: string): KubeApiError {
  let st: { reason?: string, message?: string, details?: unknown } = {}
  try { st = JSON.parse(text) } catch {}
  return new KubeApiError(status, st.reason ?? String(status), `${what}: ${status} ${st.reason ?? ''}: ${st.message ?? text.slice(0, 500)}`, st.details)
}

/**
 * The start of a body for an error message: ~`bytes` bytes, control and format characters escaped
 * so that an HTML page or binary garbage stays one readable log line.
 */
function excerpt (text: string, bytes = 100): string {
  const head = utf8Prefix(text.slice(0, bytes), bytes)
  const shown = JSON.stringify(head).replace(/\p{C}/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`)
  return head.length < text.length ? `${shown}…` : shown
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeApiError && e.status === 404
export const isConflict = (e: unknown): boolean => e instanceof KubeApiError && e.status === 409 && e.reason === 'Conflict'
export const isAlreadyExists = (e: unknown): boolean => e instanceof KubeApiError && e.status === 409 && e.reason === 'AlreadyExists'
export const isGone = (e: unknown): boolean => e instanceof KubeApiError && (e.status === 410 || e.reason === 'Expired' || e.reason === 'Gone')

/** Accept header for the metadata of an object only (its spec and data stay on the apiserver). */
export const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1'

export const ContentType = {
  json: 'application/json',
  mergePatch: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml'
} as const

/** `/apis/<group>/<version>/[namespaces/<ns>/]<plural>[/<name>[/<sub>]]`, core group under /api/v1. */
export function resourcePath (r: ResourceCoords, namespace?: string, name?: string, subresource?: string): string {
  let p = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`
  if (namespace != null) p += `/namespaces/${encodeURIComponent(namespace)}`
  p += `/${r.plural}`
  if (name != null) p += `/${encodeURIComponent(name)}`
  if (subresource != null) p += `/${subresource}`
  return p
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>
  body?: unknown
  contentType?: string
  /** The Accept header (default application/json), e.g. METADATA_ONLY. */
  accept?: string
  signal?: AbortSignal
  timeoutMs?: number
}

const AUTH_TTL_MS = 10_000
/** The longest watch event line taken (objects are far smaller: etcd refuses requests over 1.5 MiB by default). */
const MAX_WATCH_EVENT_CHARS = 16 << 20

export class KubeRest {
  readonly kc: KubeConfig
  private readonly server: string
  /**
   * client-node 2.0.1 builds a new undici Agent (so a new TLS connection, handshake and all) for
   * every request it authenticates; one pooled Agent per client keeps connections alive and cut
   * the apiserver's per-create cost several times over in the ingress benchmark.
   */
  private dispatcher: Dispatcher | undefined
  /**
   * The auth headers, reused for AUTH_TTL_MS: client-node recomputes them per request (reading
   * CA, cert, key and token files, decoding them, building an undici Agent we then drop), which
   * was ~0.1 ms of CPU per request in the ingress. Rotating credentials still land within the TTL
   * (client-go itself re-reads a token file at most once a minute), and a 401 drops them at once.
   */
  private auth: { headers: Record<string, string>, until: number } | undefined
  /**
   * A digest of the client certificate and key files the pooled connections present, when the user
   * has both as files (client-go reloads them only then: transport.loadTLSFiles sets
   * ReloadTLSFiles). undefined otherwise, and before the first request.
   */
  private clientCert: string | undefined
  /** The client certificate files last refused (not a pair, unreadable), so that it is logged once. */
  private refusedCert: string | undefined
  /** The users' bearer token files (kubeconfig token-file, in-cluster token). */
  private readonly tokenFiles: TokenFileAuth
  /**
   * Sent on every request: without one the apiserver records the objects' field manager as
   * "unknown", and audit logs and API Priority and Fairness cannot tell dealyard's components apart.
   */
  private readonly userAgent: string
  /** A request failed for want of the apiserver (transport error, 5xx, 429) and none answered since. */
  private unreachable = false
  private readonly recovered = new Set<() => void>()

  constructor (kc: KubeConfig, opts: { userAgent?: string } = {}) {
    const cluster = kc.getCurrentCluster()
    if (cluster == null) throw new DealyardError('ERR_KUBE_CONFIG', 'kubeconfig has no current cluster')
    this.kc = kc
    this.server = cluster.server.replace(/\/$/, '')
    this.userAgent = opts.userAgent ?? kubeUserAgent('dealyard')
    this.tokenFiles = tokenFileAuth(kc)
  }

  /**
   * Calls `fn` whenever the apiserver answers again after a request failed for want of it. Every
   * informer on this client subscribes: after an outage each one sat out its own backoff (up to
   * 30 s) while the apiserver answered others, so a StorageProvider paused or a ledger's reserve
   * changed right after a restart took effect 10–30 s late. Returns the unsubscribe.
   */
  onRecovered (fn: () => void): () => void {
    this.recovered.add(fn)
    return () => { this.recovered.delete(fn) }
  }

  /** Notes an answer (its HTTP status) or its absence (undefined). */
  private noteAnswer (status: number | undefined): void {
    if (status === undefined || status >= 500 || status === 429) {
      this.unreachable = true
    } else if (this.unreachable) {
      this.unreachable = false
      for (const fn of this.recovered) fn()
    }
  }

  private async authHeaders (url: URL, method: keyof typeof HttpMethod): Promise<Record<string, string>> {
    const now = Date.now()
    if (this.auth !== undefined && now < this.auth.until) return this.auth.headers
    // Read before client-node reads the same files into the dispatcher it builds: a rotation in
    // between shows as a change next time rather than being missed.
    const cert = this.readClientCert()
    if (cert?.error !== undefined && this.auth !== undefined && this.dispatcher !== undefined) {
      // Gone for a moment (a rotation that removes them first): client-node cannot build anything
      // without them, so the current connections and headers go on until the next refresh.
      this.refusedClientCert(cert.digest, cert.error)
      this.auth = { headers: this.auth.headers, until: now + AUTH_TTL_MS }
      return this.auth.headers
    }
    const ctx = new RequestContext(url.toString(), HttpMethod[method])
    await this.kc.applySecurityAuthentication(ctx)
    const fresh = ctx.getDispatcher() as Dispatcher | undefined
    if (this.dispatcher === undefined) {
      this.dispatcher = fresh ?? getGlobalDispatcher()
      this.clientCert = cert?.digest
    } else if (cert !== undefined && cert.digest !== this.clientCert && fresh !== undefined) {
      const refused = this.refuseClientCert(cert)
      if (refused === undefined) {
        this.rotateDispatcher(fresh)
        this.clientCert = cert.digest
        this.refusedCert = undefined
      } else {
        this.refusedClientCert(cert.digest, refused)
      }
    }
    this.auth = { headers: { ...ctx.getHeaders(), 'user-agent': this.userAgent }, until: now + AUTH_TTL_MS }
    return this.auth.headers
  }

  /** Logs client certificate files refused: once per change, not per refresh (each tries again). */
  private refusedClientCert (digest: string, reason: string): void {
    if (digest === this.refusedCert) return
    this.refusedCert = digest
    log.warn({ server: this.server, reason }, 'client certificate files changed but are not a usable pair yet: connections keep presenting the current one')
  }

  /**
   * The client certificate and key files with their digest (see clientCert); undefined when the
   * certificate is not reloadable. Files that cannot be read have a digest of their own (the error).
   */
  private readClientCert (): { digest: string, cert?: Buffer, key?: Buffer, error?: string } | undefined {
    const user = this.kc.getCurrentUser()
    if (user?.certFile == null || user.keyFile == null || user.certData != null || user.keyData != null) return undefined
    try {
      const cert = readFileSync(user.certFile)
      const key = readFileSync(user.keyFile)
      return { digest: createHash('sha256').update(cert).update('\0').update(key).digest('hex'), cert, key }
    } catch (err) {
      return { digest: `unreadable: ${(err as Error).message}`, error: (err as Error).message }
    }
  }

  /**
   * Why changed client certificate files are not to be presented yet, or undefined when they are.
   * As client-go's reload (transport/cert_rotation.go: loadClientCert, tls.X509KeyPair): files
   * that do not make a pair (a rotation that has written one of the two so far) are refused and
   * the current certificate stays; a pool built from them would fail every handshake ("key values
   * mismatch", transport errors, so no 401 to refresh on) until the next refresh. Also refused:
   * files that changed again while client-node read them (its pool may hold either version).
   */
  private refuseClientCert (seen: { digest: string, cert?: Buffer, key?: Buffer, error?: string }): string | undefined {
    if (seen.error !== undefined) return seen.error
    try {
      if (!new X509Certificate(seen.cert!).checkPrivateKey(createPrivateKey(seen.key!))) return 'the key is not the certificate\'s'
    } catch (err) {
      return (err as Error).message
    }
    if (this.readClientCert()?.digest !== seen.digest) return 'the files changed while being read'
    return undefined
  }

  /**
   * A rotated client certificate: TLS presents it only in a handshake, so the pooled connections
   * keep the old one. client-go (transport/cert_rotation.go) closes every connection when it sees
   * the change, in-flight requests and watches included; here new requests go out on a new pool
   * (new connections, new certificate) and the old pool closes once its requests end, so no write
   * is cut off with its outcome unknown. Watches move over when they next restart.
   */
  private rotateDispatcher (fresh: Dispatcher): void {
    const old = this.dispatcher
    this.dispatcher = fresh
    log.info({ server: this.server }, 'client certificate changed: new connections present the new one')
    if (old !== undefined && old !== getGlobalDispatcher()) {
      old.close().catch((err: unknown) => { log.warn({ err: (err as Error).message }, 'closing the connections of the old client certificate') })
    }
  }

  async request<T> (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts: RequestOptions = {}): Promise<T> {
    try {
      return await this.requestOnce<T>(method, path, opts)
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 401 && this.auth !== undefined)) throw err
      // Credentials rotated under the cache: fetch them again and retry once.
      this.dropCredentials()
      return await this.requestOnce<T>(method, path, opts)
    }
  }

  /** After a 401: the next request builds its credentials again, token files read again included. */
  private dropCredentials (): void {
    if (this.auth !== undefined) this.auth.until = 0
    this.tokenFiles.expire()
  }

  private url (path: string, query: RequestOptions['query']): URL {
    const url = new URL(this.server + path)
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v))
    return url
  }

  private async requestOnce<T> (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts: RequestOptions): Promise<T> {
    // Writes refuse fields the installed schema does not know (the apiserver's default, Warn,
    // prunes them and says so in a header nobody reads): a CRD older than this code (GitOps
    // syncing CRDs and Deployments separately) would otherwise lose a field of every deal
    // silently, and the status protocol would answer from what was left.
    const url = this.url(path, method === 'POST' || method === 'PUT' || method === 'PATCH' ? { fieldValidation: 'Strict', ...opts.query } : opts.query)
    const timeoutMs = opts.timeoutMs ?? 30_000
    // undici's timeouts start once the request is on a connection: waiting for one (the old
    // connection declared dead, a new one not yet up) is not covered, nor are the credentials (a
    // kubeconfig's exec plugin may take its time). A caller that asked for a bound gets one over
    // the whole request: a timer raced against it, not an AbortSignal, which cost ~40 µs a request
    // in the ingress (EventTarget listeners in Node and in undici). The request itself may still
    // go out late; callers that bound writes treat the outcome as unknown (see the ingress's store).
    let bound: ReturnType<typeof setTimeout> | undefined
    const expired = opts.timeoutMs === undefined
      ? undefined
      : new Promise<never>((_resolve, reject) => {
        bound = setTimeout(() => { reject(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')) }, timeoutMs)
      })
    if (expired !== undefined) expired.catch(() => {})
    let status: number
    let text: string
    let contentType: string
    try {
      const auth = this.authHeaders(url, method)
      if (expired !== undefined) auth.catch(() => {})
      const headers: Record<string, string> = { ...await (expired === undefined ? auth : Promise.race([auth, expired])), accept: opts.accept ?? 'application/json' }
      let body: string | undefined
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body)
        headers['content-type'] = opts.contentType ?? ContentType.json
      }
      const dispatcher = this.dispatcher ?? getGlobalDispatcher()
      // undici's dispatcher API rather than fetch: fetch wraps every call in WHATWG Request,
      // Headers and stream objects, ~0.3 ms of CPU per request more (measured in the ingress,
      // which makes two creates per accepted proposal), and its timers are cheaper than an
      // AbortSignal.timeout per request.
      const call = dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method,
        headers,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: opts.signal
      }).then(async (res) => ({ status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text: await res.body.text() }))
      if (expired !== undefined) call.catch(() => {})
      const answer = expired === undefined ? await call : await Promise.race([call, expired])
      status = answer.status
      text = answer.text
      contentType = answer.contentType
    } catch (err) {
      this.noteAnswer(undefined)
      throw new DealyardError('ERR_KUBE_TRANSPORT', `${method} ${path}: ${(err as Error).message}`, { cause: err, retry: 'auto' })
    } finally {
      clearTimeout(bound)
    }
    this.noteAnswer(status)
    if (status < 200 || status >= 300) throw apiError(`${method} ${path}`, status, text)
    // A proxy's own page, a body cut short, or no body at all (a proxy's bare 200 or 201): not the
    // apiserver's answer, which to a GET, POST, PUT, PATCH or DELETE of an object is always a JSON
    // object (the object, or a Status). As after a transport error, a write may or may not have
    // happened, and trying again is the way on. Not a KubeApiError: callers read those as the
    // apiserver's refusal (see the ingress's store). No caller here reads a body-less endpoint.
    const type = contentType === '' ? 'none' : contentType
    if (text === '') throw new DealyardError('ERR_KUBE_DECODE', `${method} ${path}: a ${status} answer with an empty body (content-type ${type})`, { retry: 'auto' })
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (err) {
      throw new DealyardError('ERR_KUBE_DECODE', `${method} ${path}: a ${status} answer that is not JSON (content-type ${type}): ${excerpt(text)}`, { cause: err, retry: 'auto' })
    }
    if (typeof parsed !== 'object' || parsed === null) throw new DealyardError('ERR_KUBE_DECODE', `${method} ${path}: a ${status} answer that is not a JSON object (content-type ${type}): ${excerpt(text)}`, { retry: 'auto' })
    return parsed as T
  }


  /**
   * A watch stream: onEvent gets every event line, parsed, until the server ends the stream (then
   * this resolves), `signal` aborts (resolves too) or something fails (rejects: KubeApiError with
   * the HTTP status for a non-200 answer, 410 Gone included; ERR_KUBE_WATCH for a line that is not
   * a JSON event; ERR_KUBE_TRANSPORT otherwise). No bytes for idleMs is a transport error (the
   * server sends bookmarks and closes the watch at its own timeoutSeconds well before that).
   * Why not client-node's Watch: it goes through fetch, a web stream converted back to a Node
   * stream and readline, and re-arms a timer on every chunk; the ingress's StorageDeal watch gets
   * an event per accepted proposal, and that path cost more than the JSON parsing itself.
   */
  async watch<E> (path: string, query: RequestOptions['query'], onEvent: (event: E) => void, opts: { signal: AbortSignal, idleMs: number }): Promise<void> {
    const url = this.url(path, { ...query, watch: true })
    const headers: Record<string, string> = { ...await this.authHeaders(url, 'GET'), accept: 'application/json' }
    const dispatcher = this.dispatcher ?? getGlobalDispatcher()
    let res: Dispatcher.ResponseData
    try {
      res = await dispatcher.request({
        origin: url.origin, path: url.pathname + url.search, method: 'GET', headers,
        headersTimeout: opts.idleMs, bodyTimeout: opts.idleMs, signal: opts.signal
      })
    } catch (err) {
      if (opts.signal.aborted) return
      this.noteAnswer(undefined)
      throw new DealyardError('ERR_KUBE_TRANSPORT', `watch ${path}: ${(err as Error).message}`, { cause: err, retry: 'auto' })
    }
    this.noteAnswer(res.statusCode)
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '')
      if (res.statusCode === 401) this.dropCredentials()
      throw apiError(`watch ${path}`, res.statusCode, text)
    }
    const decoder = new StringDecoder('utf8')
    // The current line's pieces before its newline: each chunk is searched once (a line gathered
    // by concatenating and searching again from its start cost quadratic time on long lines).
    let pending: string[] = []
    let pendingLength = 0
    try {
      for await (const chunk of res.body) {
        const text = decoder.write(chunk as Buffer)
        let from = 0
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
          const line = pending.length === 0 ? text.slice(from, nl) : pending.join('') + text.slice(from, nl)
          pending = []
          pendingLength = 0
          from = nl + 1
          if (line.trim() === '') continue
          let event: E
          try {
            event = JSON.parse(line) as E
          } catch {
            throw new DealyardError('ERR_KUBE_WATCH', `watch ${path}: not a JSON event: ${line.slice(0, 200)}`, { retry: 'auto' })
          }
          onEvent(event)
          if (opts.signal.aborted) return
        }
        if (from < text.length) {
          pending.push(text.slice(from))
          pendingLength += text.length - from
          // An object is at most etcd's request limit (1.5 MiB by default): a line far past it is
          // no event, and would otherwise be held for as long as it grew.
          if (pendingLength > MAX_WATCH_EVENT_CHARS) throw new DealyardError('ERR_KUBE_WATCH', `watch ${path}: an event over ${MAX_WATCH_EVENT_CHARS} characters`, { retry: 'auto' })
        }
      }
    } catch (err) {
      if (opts.signal.aborted) return
      if (err instanceof DealyardError) throw err
      throw new DealyardError('ERR_KUBE_TRANSPORT', `watch ${path}: ${(err as Error).message}`, { cause: err, retry: 'auto' })
    } finally {
      if (!res.body.destroyed) res.body.destroy()
    }
  }

  /** Closes pooled connections (a long-lived process never needs to). */
  async close (): Promise<void> {
    await this.dispatcher?.close()
    this.dispatcher = undefined
    this.auth = undefined
  }

  get<T extends KubeObject> (r: ResourceCoords, namespace: string | undefined, name: string): Promise<T> {
    return this.request('GET', resourcePath(r, namespace, name))
  }

  list<T extends KubeObject> (r: ResourceCoords, namespace?: string, query: RequestOptions['query'] = {}): Promise<ObjectList<T>> {
    return this.request('GET', resourcePath(r, namespace), { query })
  }

  create<T extends KubeObject> (r: ResourceCoords, namespace: string | undefined, obj: T, query: RequestOptions['query'] = {}): Promise<T> {
    return this.request('POST', resourcePath(r, namespace), { body: obj, query })
  }

  replace<T extends KubeObject> (r: ResourceCoords, namespace: string | undefined, name: string, obj: T, subresource?: string): Promise<T> {
    return this.request('PUT', resourcePath(r, namespace, name, subresource), { body: obj })
  }

  /** A merge patch; put `metadata.resourceVersion` in it to make it a conditional write. */
  mergePatch<T extends KubeObject> (r: ResourceCoords, namespace: string | undefined, name: string, patch: unknown, subresource?: string, fieldManager?: string): Promise<T> {
    return this.request('PATCH', resourcePath(r, namespace, name, subresource), {
      body: patch, contentType: ContentType.mergePatch, query: { fieldManager }
    })
  }

  /** Server-side apply under a named field manager; `force` takes ownership of conflicting fields. */
  apply<T extends KubeObject, B extends KubeObject = KubeObject> (r: ResourceCoords, namespace: string | undefined, name: string, obj: B, fieldManager: string, opts: { force?: boolean, subresource?: string } = {}): Promise<T> {
    return this.request('PATCH', resourcePath(r, namespace, name, opts.subresource), {
      body: obj, contentType: ContentType.apply, query: { fieldManager, force: opts.force ?? true }
    })
  }

  delete (r: ResourceCoords, namespace: string | undefined, name: string, opts: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan', resourceVersion?: string } = {}): Promise<unknown> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' }
    if (opts.propagationPolicy != null) body.propagationPolicy = opts.propagationPolicy
    if (opts.resourceVersion != null) body.preconditions = { resourceVersion: opts.resourceVersion }
    return this.request('DELETE', resourcePath(r, namespace, name), { body })
  }
}

export { loadKubeConfig } from './kubeconfig.ts'

/** Coordinates of the built-in kinds the runtime and the controller use. */
export const Core = {
  namespaces: { group: '', version: 'v1', plural: 'namespaces' },
  secrets: { group: '', version: 'v1', plural: 'secrets' },
  pods: { group: '', version: 'v1', plural: 'pods' },
  jobs: { group: 'batch', version: 'v1', plural: 'jobs' },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' },
  events: { group: 'events.k8s.io', version: 'v1', plural: 'events' }
} as const satisfies Record<string, ResourceCoords>
