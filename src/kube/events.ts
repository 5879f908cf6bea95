/**
 * An Event recorder on events.k8s.io/v1. Repeats of the same (object, reason, note) within ten
 * minutes update one Event's series count instead of creating new objects, so a deal retrying in a
 * loop cannot flood etcd. eventTime must be MicroTime (six fractional digits) or the apiserver
 * refuses the Event.
 */
import { randomBytes } from 'node:crypto'
import { V1MicroTime } from '@kubernetes/client-node'
import { logger } from '../log.ts'
import { utf8Prefix } from '../utf8.ts'
import { Core, isNotFound, type KubeObject, type KubeRest } from './rest.ts'

export type EventType = 'Normal' | 'Warning'

interface SeriesState { name: string, namespace: string, count: number, first: number }

const SERIES_WINDOW_MS = 10 * 60_000

export class EventRecorder {
  private readonly rest: KubeRest
  private readonly controller: string
  private readonly instance: string
  private readonly series = new Map<string, SeriesState>()
  private readonly log = logger('kube:events')

  constructor (rest: KubeRest, controller: string, instance: string) {
    this.rest = rest
    this.controller = controller
    this.instance = instance
  }

  /** Records an Event about `obj`. Never throws: a lost Event must not fail a reconcile. */
  async record (obj: KubeObject, type: EventType, reason: string, action: string, note: string): Promise<void> {
    const md = obj.metadata ?? {}
    const namespace = md.namespace ?? 'default'
    const key = `${md.uid ?? md.name}|${reason}|${note}`
    const now = Date.now()
    const prev = this.series.get(key)
    try {
      if (prev != null && now - prev.first < SERIES_WINDOW_MS) {
        prev.count++
        try {
          await this.rest.mergePatch(Core.events, prev.namespace, prev.name, {
            series: { count: prev.count, lastObservedTime: new V1MicroTime(now) }
          })
          return
        } catch (err) {
          // The series' Event is gone (its TTL, or deleted): a new one, as client-go records it.
          if (!isNotFound(err)) throw err
          this.series.delete(key)
        }
      }
      // At most 253 characters (a DNS subdomain): the object's name cut to leave room for the suffix.
      const name = `${(md.name ?? 'object').slice(0, 253 - 17).replace(/[.-]+$/, '')}.${randomBytes(8).toString('hex')}`
      await this.rest.create(Core.events, namespace, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace },
        eventTime: new V1MicroTime(now),
        reportingController: this.controller,
        reportingInstance: this.instance,
        action,
        reason,
        type,
        // The apiserver counts a note's bytes, not its characters.
        note: utf8Prefix(note, 1024),
        regarding: {
          apiVersion: obj.apiVersion, kind: obj.kind, name: md.name, namespace: md.namespace, uid: md.uid, resourceVersion: md.resourceVersion
        }
      })
      this.series.set(key, { name, namespace, count: 1, first: now })
      if (this.series.size > 10_000) this.prune(now)
    } catch (err) {
      this.log.warn({ reason, object: md.name, err: (err as Error).message }, 'recording an event failed')
    }
  }

  private prune (now: number): void {
    for (const [k, s] of this.series) if (now - s.first >= SERIES_WINDOW_MS) this.series.delete(k)
  }
}
