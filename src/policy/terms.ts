/**
 * A StorageProvider's spec turned into the terms admission checks read: every default of the CRD
 * filled in (the apiserver fills them too, but objects may come from elsewhere), addresses and CIDs
 * parsed once.
 */
import type { StorageProvider } from '../api/types.generated.ts'
import { ASK_DEFAULTS, DEAL_POLICY_DEFAULTS as D } from '../api/storageprovider.ts'
import { Address } from '../filecoin/address.ts'
import { parseCidAnyBase } from '../filecoin/cid.ts'
import { addressKey, type ProviderTerms } from './admission.ts'
import { compileTransferHostPolicy } from './transfer-host.ts'

export interface TermsOptions {
  /** Ranges refused for every provider on top of its own denyCidrs: the cluster's pod and service CIDRs. */
  clusterCidrs?: readonly string[]
  /** Ranges allowed for every provider (the local demo allows loopback). */
  allowCidrs?: readonly string[]
}

/**
 * A client list's entries as address keys, each parsed: the CRD's pattern lets a mistyped address
 * (a wrong checksum) through, and taken as text it matched no client, so a denied client was
 * accepted and a mistyped allow entry shut out the client it meant.
 */
function clientKeys (list: readonly string[] | undefined, which: 'allow' | 'deny'): Set<string> {
  return new Set((list ?? []).map((text) => {
    try {
      return addressKey(Address.fromString(text))
    } catch (err) {
      throw new Error(`dealPolicy.clients.${which}: ${JSON.stringify(text)} is not a Filecoin address: ${(err as Error).message}`)
    }
  }))
}

/** Throws (ERR_INVALID_ADDRESS, or an Error naming a bad CIDR or CID) on a spec the CRD schema would refuse or boost's config would not load. */
export function providerTerms (sp: StorageProvider, opts: TermsOptions = {}): ProviderTerms {
  const s = sp.spec
  const p = s.dealPolicy ?? {}
  const ask = s.ask ?? {}
  const clientsAllow = clientKeys(p.clients?.allow, 'allow')
  const clientsDeny = clientKeys(p.clients?.deny, 'deny')
  return {
    name: sp.metadata.name ?? '',
    address: Address.fromString(s.address),
    paused: s.paused ?? false,
    ask: {
      price: BigInt(ask.price ?? ASK_DEFAULTS.price),
      verifiedPrice: BigInt(ask.verifiedPrice ?? ASK_DEFAULTS.verifiedPrice),
      minPieceSize: ask.minPieceSize ?? ASK_DEFAULTS.minPieceSize,
      maxPieceSize: ask.maxPieceSize ?? ASK_DEFAULTS.maxPieceSize
    },
    acceptOnline: p.acceptOnline ?? D.acceptOnline,
    acceptOffline: p.acceptOffline ?? D.acceptOffline,
    acceptVerified: p.acceptVerified ?? D.acceptVerified,
    acceptUnverified: p.acceptUnverified ?? D.acceptUnverified,
    expectedSealDurationEpochs: p.expectedSealDurationEpochs ?? D.expectedSealDurationEpochs,
    maxStartDelayEpochs: p.maxStartDelayEpochs ?? D.maxStartDelayEpochs,
    maxProviderCollateralMultiplier: p.maxProviderCollateralMultiplier ?? D.maxProviderCollateralMultiplier,
    maxTransferSize: p.maxTransferSize ?? D.maxTransferSize,
    transferTypes: p.transferTypes ?? [...D.transferTypes],
    clientsAllow,
    clientsDeny,
    // addressKey drops the network letter: an ID address's key starts with its protocol digit 0.
    clientListsNameIds: [...clientsAllow, ...clientsDeny].some((k) => k.startsWith('0')),
    // boost compares CIDs (PieceCID.Equals), not their text: kept in the canonical form the
    // proposal's piece CID is printed in, whatever multibase the operator wrote.
    pieceCidBlocklist: new Set((p.pieceCidBlocklist ?? []).map((text) => {
      try {
        return parseCidAnyBase(text).toString()
      } catch (err) {
        throw new Error(`dealPolicy.pieceCidBlocklist: ${JSON.stringify(text)} is not a CID: ${(err as Error).message}`)
      }
    })),
    transferHosts: compileTransferHostPolicy({
      allowCidrs: [...(opts.allowCidrs ?? []), ...(p.transferHosts?.allowCidrs ?? [])],
      denyCidrs: [...(opts.clusterCidrs ?? []), ...(p.transferHosts?.denyCidrs ?? [])]
    })
  }
}
