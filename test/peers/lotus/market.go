package main

import (
	"bytes"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-bitfield"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/exitcode"
	// v9 is the version lotus/chain/actors/builtin/market aliases for its API types; the CBOR
	// layout of these types has not changed since.
	market "github.com/filecoin-project/go-state-types/builtin/v9/market"
	"github.com/ipfs/go-cid"

	"github.com/filecoin-project/lotus/api"
)

// dealRec is a published deal as the market actor stores it: the proposal normalised to ID
// addresses, plus its state.
type dealRec struct {
	id       abi.DealID
	proposal market.DealProposal
	state    api.MarketDealState
	publish  cid.Cid // proposal CID as the client sent it (the TS side computes this one)
}

type publishEvent struct {
	ProposalCid string `json:"proposalCid"`
	DealID      uint64 `json:"dealId,omitempty"`
	Valid       bool   `json:"valid"`
	Reason      string `json:"reason,omitempty"`
	Epoch       int64  `json:"epoch"`
}

type marketState struct {
	deals     map[abi.DealID]*dealRec
	pending   map[cid.Cid]abi.DealID // normalised proposal CID -> deal
	nextDeal  abi.DealID
	published map[string]int // proposal CID (as sent) -> successful publishes
	events    []publishEvent
}

func newMarketState() *marketState {
	return &marketState{deals: map[abi.DealID]*dealRec{}, pending: map[cid.Cid]abi.DealID{}, nextDeal: 100, published: map[string]int{}}
}

// publishStorageDeals follows builtin-actors' market publish_storage_deals: the params are decoded
// with go-state-types; the caller must control the provider (else the message fails); each deal is
// checked (client signature over the proposal's CBOR, epochs, piece, duplicates, escrow) and invalid
// ones are dropped; valid deals get sequential IDs and the return carries IDs + ValidDeals.
func (p *Peer) publishStorageDeals(caller address.Address, params []byte, h abi.ChainEpoch) ([]byte, interface{}, exitcode.ExitCode) {
	var psd market.PublishStorageDealsParams
	if err := psd.UnmarshalCBOR(bytes.NewReader(params)); err != nil {
		return nil, nil, exitcode.ErrSerialization
	}
	if len(psd.Deals) == 0 {
		return nil, nil, exitcode.ErrIllegalArgument
	}
	if caller != p.ownerID && caller != p.workerID {
		return nil, nil, exitcode.ErrForbidden
	}
	type valid struct {
		idx      int
		proposal market.DealProposal
		sent     cid.Cid
		norm     cid.Cid
	}
	var ok []valid
	clientNeed := map[address.Address]big.Int{}
	providerNeed := big.Zero()
	seen := map[cid.Cid]bool{}
	for i, d := range psd.Deals {
		sent, err := d.Proposal.Cid()
		if err != nil {
			return nil, nil, exitcode.ErrSerialization
		}
		drop := func(reason string) {
			p.market.events = append(p.market.events, publishEvent{ProposalCid: sent.String(), Reason: reason, Epoch: int64(h)})
		}
		prov, err := p.lookupID(d.Proposal.Provider)
		if err != nil || prov != p.minerAddr {
			drop("provider is not this miner")
			continue
		}
		client, err := p.lookupID(d.Proposal.Client)
		if err != nil {
			drop("client not found")
			continue
		}
		key, err := p.keyOf(client)
		if err != nil {
			drop("client has no key address")
			continue
		}
		var buf bytes.Buffer
		if err := d.Proposal.MarshalCBOR(&buf); err != nil {
			drop("proposal does not serialise")
			continue
		}
		if key.Protocol() == address.Delegated {
			// The market actor asks the client actor (AuthenticateMessage), which must return true.
			if !p.authenticatedForMarket(client) {
				drop("proposal authentication failed")
				continue
			}
		} else if err := verifySignature(&d.ClientSignature, key, buf.Bytes()); err != nil {
			drop("signature: " + err.Error())
			continue
		}
		if reason := checkProposal(&d.Proposal, h); reason != "" {
			drop(reason)
			continue
		}
		norm := d.Proposal
		norm.Client, norm.Provider = client, prov
		nc, _ := norm.Cid()
		if _, dup := p.market.pending[nc]; dup || seen[nc] {
			drop("duplicate deal proposal")
			continue
		}
		need := big.Add(clientNeed[client], d.Proposal.ClientBalanceRequirement())
		if big.Cmp(big.Sub(p.escrowOf(client), p.lockedOf(client)), need) < 0 {
			drop("client escrow too low")
			continue
		}
		pneed := big.Add(providerNeed, d.Proposal.ProviderBalanceRequirement())
		if big.Cmp(big.Sub(p.escrowOf(prov), p.lockedOf(prov)), pneed) < 0 {
			drop("provider escrow too low")
			continue
		}
		if d.Proposal.VerifiedDeal {
			dc, has := p.datacap[client]
			if !has || big.Cmp(dc, big.NewInt(int64(d.Proposal.PieceSize))) < 0 {
				drop("client lacks datacap")
				continue
			}
			p.datacap[client] = big.Sub(dc, big.NewInt(int64(d.Proposal.PieceSize)))
		}
		clientNeed[client] = need
		providerNeed = pneed
		seen[nc] = true
		ok = append(ok, valid{idx: i, proposal: norm, sent: sent, norm: nc})
	}
	if len(ok) == 0 {
		return nil, nil, exitcode.ErrIllegalArgument
	}
	ret := market.PublishStorageDealsReturn{}
	var set []uint64
	for _, v := range ok {
		id := p.market.nextDeal
		p.market.nextDeal++
		p.market.deals[id] = &dealRec{id: id, proposal: v.proposal, publish: v.sent,
			state: api.MarketDealState{SectorNumber: 0, SectorStartEpoch: -1, LastUpdatedEpoch: -1, SlashEpoch: -1}}
		p.market.pending[v.norm] = id
		p.market.published[v.sent.String()]++
		p.market.events = append(p.market.events, publishEvent{ProposalCid: v.sent.String(), DealID: uint64(id), Valid: true, Epoch: int64(h)})
		ret.IDs = append(ret.IDs, id)
		set = append(set, uint64(v.idx))
		c := v.proposal.Client
		p.locked[c] = big.Add(p.lockedOf(c), v.proposal.ClientBalanceRequirement())
		p.locked[p.minerAddr] = big.Add(p.lockedOf(p.minerAddr), v.proposal.ProviderBalanceRequirement())
	}
	ret.ValidDeals = bitfield.NewFromSet(set)
	var out bytes.Buffer
	if err := ret.MarshalCBOR(&out); err != nil {
		return nil, nil, exitcode.ErrSerialization
	}
	return out.Bytes(), &ret, exitcode.Ok
}

// checkProposal is the subset of deal_proposal_is_internally_valid / validate_deal that a test can
// trip: epochs, piece CID prefix and piece size.
func checkProposal(d *market.DealProposal, h abi.ChainEpoch) string {
	if d.StartEpoch < h {
		return "deal start epoch has already elapsed"
	}
	if d.EndEpoch <= d.StartEpoch {
		return "deal end before start"
	}
	if d.PieceCID.Prefix() != market.PieceCIDPrefix {
		return "piece cid has wrong prefix"
	}
	if err := d.PieceSize.Validate(); err != nil {
		return "invalid piece size"
	}
	if d.StoragePricePerEpoch.LessThan(big.Zero()) || d.ProviderCollateral.LessThan(big.Zero()) || d.ClientCollateral.LessThan(big.Zero()) {
		return "negative amount"
	}
	return ""
}
