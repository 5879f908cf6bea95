/** The libp2p protocol IDs a boost provider serves (storagemarket/lp2pimpl/net.go, retrievalmarket/lp2pimpl/transports.go). */
export const PROTOCOL_IDS = {
  /** DealParams → DealResponse; the current form (7-key DealParams). */
  dealProposal121: '/fil/storage/mk/1.2.1',
  /** Same handler; 1.2.0 clients send the 5-key form (some `boost deal` releases send 7 keys here). */
  dealProposal120: '/fil/storage/mk/1.2.0',
  /** DealStatusRequest → DealStatusResponse. */
  dealStatus: '/fil/storage/status/1.2.0',
  /** AskRequest → AskResponse (map encoding, go-fil-markets v1.28 compatible). */
  ask: '/fil/storage/ask/1.1.0',
  /** The client sends nothing; the provider writes a QueryResponse and closes. */
  transports: '/fil/retrieval/transports/1.0.0'
} as const

/** Both deal-proposal IDs, preferred first (boost's client offers them in this order). */
export const DEAL_PROPOSAL_PROTOCOLS = [PROTOCOL_IDS.dealProposal121, PROTOCOL_IDS.dealProposal120] as const

/** Deadlines boost uses on these streams (lp2pimpl/net.go); the ingress may choose its own. */
export const STREAM_DEADLINES_MS = {
  providerRead: 10_000,
  providerWrite: 10_000,
  clientWrite: 10_000,
  clientRead: 60_000,
  transportsWrite: 30_000
} as const
