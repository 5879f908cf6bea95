/**
 * What accepted deals hold of their provider's funds and staging space, as boost tags them: a deal
 * holds its provider collateral and one publish budget from acceptance until its publish is confirmed
 * (an offline deal only once its data is imported, when boost tags it), and its transfer size of
 * staging space from acceptance until the piece is added to a sector (online deals only: an
 * offline deal's data is already on the provider's disk). A failed deal holds nothing.
 *
 * The same rule is the ledgers' audit (ARCHITECTURE §2): the tags are a function of the deals, so
 * the ingress can decide from its deal cache without waiting for anyone to write ledger entries.
 */
import type { StorageDeal } from '../api/types.generated.ts'

export interface Holding {
  /** StorageProvider resource name. */
  provider: string
  collateral: bigint
  /** Holds one publish budget (the FundLedger's publishBudgetPerDeal). */
  publish: boolean
  stagingBytes: number
}

export interface HeldTotals { collateral: bigint, publishes: number, stagingBytes: number }

/** Per-provider sums at one moment (HoldingIndex.snapshot). */
export type HeldSnapshot = ReadonlyMap<string, HeldTotals>

export function totalsIn (snapshot: HeldSnapshot, providers: Iterable<string>): HeldTotals {
  const t: HeldTotals = { collateral: 0n, publishes: 0, stagingBytes: 0 }
  for (const p of providers) {
    const s = snapshot.get(p)
    if (s === undefined) continue
    t.collateral += s.collateral
    t.publishes += s.publishes
    t.stagingBytes += s.stagingBytes
  }
  return t
}

// Until the publish message is on chain (boost untags after publishDeal has waited for it): before
// that the escrow has not moved to locked, and a balance read would count the collateral as free.
const FUNDS_HELD: ReadonlySet<string | undefined> = new Set([undefined, 'Accepted', 'Transferred', 'Published'])
const STAGING_HELD: ReadonlySet<string | undefined> = new Set([undefined, 'Accepted', 'Transferred', 'Published', 'PublishConfirmed'])

export function holdingOf (deal: StorageDeal): Holding | undefined {
  const st = deal.status
  if (st?.retry === 'fatal') return undefined
  const cp = st?.checkpoint
  const online = !deal.spec.isOffline
  const funds = FUNDS_HELD.has(cp) && (online || deal.spec.dataSource !== undefined)
  const stagingBytes = online && STAGING_HELD.has(cp) ? deal.spec.transfer.size : 0
  if (!funds && stagingBytes === 0) return undefined
  return { provider: deal.spec.provider, collateral: funds ? BigInt(deal.spec.proposal.providerCollateral) : 0n, publish: funds, stagingBytes }
}

/** The snapshot with one holding taken out (a copy; the deal's own share of sums that include it). */
export function without (snapshot: HeldSnapshot, h: Holding | undefined): HeldSnapshot {
  if (h === undefined) return snapshot
  const copy = new Map<string, HeldTotals>()
  for (const [p, t] of snapshot) copy.set(p, { ...t })
  const t = copy.get(h.provider)
  if (t !== undefined) {
    t.collateral -= h.collateral
    t.publishes -= h.publish ? 1 : 0
    t.stagingBytes -= h.stagingBytes
  }
  return copy
}

/**
 * Holdings by deal, summed per provider as they change, so a proposal's decision reads a few sums
 * instead of walking every deal in the cache.
 */
export class HoldingIndex {
  private readonly byDeal = new Map<string, Holding>()
  private readonly byProvider = new Map<string, HeldTotals>()

  /** Records what deal `key` holds now (undefined: nothing). Idempotent. */
  set (key: string, h: Holding | undefined): void {
    const old = this.byDeal.get(key)
    if (old !== undefined) this.add(old, -1)
    if (h === undefined) this.byDeal.delete(key)
    else {
      this.byDeal.set(key, h)
      this.add(h, 1)
    }
  }

  has (key: string): boolean { return this.byDeal.has(key) }

  /** The per-provider sums as they are now, kept apart from later changes. */
  snapshot (): HeldSnapshot {
    const copy = new Map<string, HeldTotals>()
    for (const [p, t] of this.byProvider) copy.set(p, { ...t })
    return copy
  }

  totals (providers: Iterable<string>): HeldTotals { return totalsIn(this.byProvider, providers) }

  private add (h: Holding, sign: 1 | -1): void {
    let s = this.byProvider.get(h.provider)
    if (s === undefined) {
      s = { collateral: 0n, publishes: 0, stagingBytes: 0 }
      this.byProvider.set(h.provider, s)
    }
    s.collateral += sign === 1 ? h.collateral : -h.collateral
    s.publishes += h.publish ? sign : 0
    s.stagingBytes += sign * h.stagingBytes
    if (s.publishes === 0 && s.collateral === 0n && s.stagingBytes === 0) this.byProvider.delete(h.provider)
  }
}
