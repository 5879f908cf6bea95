/**
 * The operator runtime: informers, work queue, controller loop, leader election, status and
 * apply helpers, events and shutdown. It knows nothing of deals.
 */
export * from './rest.ts'
export * from './informer.ts'
export * from './workqueue.ts'
export * from './controller.ts'
export * from './leaderelection.ts'
export * from './status.ts'
export * from './conditions.ts'
export * from './events.ts'
export * from './shutdown.ts'
export { Backoff, sleep } from './backoff.ts'
