/**
 * A StorageProvider's spec turned into the terms admission checks read: every default of the CRD
 * filled in (the apiserver fills them too, but objects may come from elsewhere), addresses and CIDs
 * parsed once.
 */
import type { StorageProvider } from '../api/types.generated.ts'
import { Address } from '../filecoin/address.ts'
import { addressKey, type ProviderTerms } from './admission.ts'
import { compileTransferHostPolicy } from './transfer-host.ts'

export interface TermsOptions {
  /** Ranges refused for every provider on top of its own denyCidrs: the cluster's pod and service CIDRs. */
  clusterCidrs?: readonly string[]
  /** Ranges allowed for every provider (the local demo allows loopback). */
  allowCidrs?: readonly string[]
}

/** Throws (ERR_INVALID_ADDRESS, or an Error naming a bad CIDR) on a spec the CRD schema would refuse. */
export function providerTerms (sp: StorageProvider, opts: TermsOptions = {}): ProviderTerms {
  const s = sp.spec
  const p = s.dealPolicy ?? {}
  const ask = s.ask ?? {}
  return {
    name: sp.metadata.name ?? '',
    address: Address.fromString(s.address),
    paused: s.paused ?? false,
    ask: {
      price: BigInt(ask.price ?? '0'),
      verifiedPrice: BigInt(ask.verifiedPrice ?? '0'),
      minPieceSize: ask.minPieceSize ?? 256,
      maxPieceSize: ask.maxPieceSize ?? 34359738368
    },
    acceptOnline: p.acceptOnline ?? true,
    acceptOffline: p.acceptOffline ?? true,
    acceptVerified: p.acceptVerified ?? true,
    acceptUnverified: p.acceptUnverified ?? true,
    expectedSealDurationEpochs: p.expectedSealDurationEpochs ?? 2880,
    maxStartDelayEpochs: p.maxStartDelayEpochs ?? 40320,
    maxProviderCollateralMultiplier: p.maxProviderCollateralMultiplier ?? 2,
    maxTransferSize: p.maxTransferSize ?? 0,
    transferTypes: p.transferTypes ?? ['http'],
    clientsAllow: new Set((p.clients?.allow ?? []).map(addressKey)),
    clientsDeny: new Set((p.clients?.deny ?? []).map(addressKey)),
    pieceCidBlocklist: new Set(p.pieceCidBlocklist ?? []),
    transferHosts: compileTransferHostPolicy({
      allowCidrs: [...(opts.allowCidrs ?? []), ...(p.transferHosts?.allowCidrs ?? [])],
      denyCidrs: [...(opts.clusterCidrs ?? []), ...(p.transferHosts?.denyCidrs ?? [])]
    })
  }
}
