// Package wire declares boost's deal-protocol message structs field for field, because the Go module
// proxy reachable here refuses every boost version newer than v1.7.5 (and Curio entirely), so boost's
// own storagemarket/types package cannot be imported. The MarshalCBOR/UnmarshalCBOR methods are not
// written by hand: build.sh runs the same cbor-gen generator boost pins
// (github.com/whyrusleeping/cbor-gen v0.3.2-0.20250409092040-76796969edea) over these declarations
// with map encoding, exactly as boost's `cbor-gen-for --map-encoding` does. The chain types inside
// them (market.DealProposal, ClientDealProposal, DealLabel, crypto.Signature, big.Int, address) are
// go-state-types v0.18.0's and go-address v1.2.0's own code.
//
// Source of each declaration: filecoin-project/boost@31acd663
//   storagemarket/types/types.go           DealParams, Transfer, DealResponse, DealStatusRequest,
//                                          DealStatusResponse, DealStatus
//   storagemarket/types/legacy.go          DealParamsV120
//   storagemarket/types/legacytypes        StorageAsk, SignedStorageAsk
//   storagemarket/types/legacytypes/network AskRequest, AskResponse
package wire

import (
	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/builtin/v9/market"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/google/uuid"
	"github.com/ipfs/go-cid"
)

type DealParams struct {
	DealUUID           uuid.UUID
	IsOffline          bool
	ClientDealProposal market.ClientDealProposal
	DealDataRoot       cid.Cid
	Transfer           Transfer
	RemoveUnsealedCopy bool
	SkipIPNIAnnounce   bool
}

type DealParamsV120 struct {
	DealUUID           uuid.UUID
	IsOffline          bool
	ClientDealProposal market.ClientDealProposal
	DealDataRoot       cid.Cid
	Transfer           Transfer
}

type Transfer struct {
	Type     string
	ClientID string
	Params   []byte
	Size     uint64
}

type DealResponse struct {
	Accepted bool
	Message  string
}

type DealStatusRequest struct {
	DealUUID  uuid.UUID
	Signature crypto.Signature
}

type DealStatusResponse struct {
	DealUUID       uuid.UUID
	Error          string
	DealStatus     *DealStatus
	IsOffline      bool
	TransferSize   uint64
	NBytesReceived uint64
}

type DealStatus struct {
	Error             string
	Status            string
	SealingStatus     string
	Proposal          market.DealProposal
	SignedProposalCid cid.Cid
	PublishCid        *cid.Cid
	ChainDealID       abi.DealID
}

type StorageAsk struct {
	Price         abi.TokenAmount
	VerifiedPrice abi.TokenAmount
	MinPieceSize  abi.PaddedPieceSize
	MaxPieceSize  abi.PaddedPieceSize
	Miner         address.Address
	Timestamp     abi.ChainEpoch
	Expiry        abi.ChainEpoch
	SeqNo         uint64
}

type SignedStorageAsk struct {
	Ask       *StorageAsk
	Signature *crypto.Signature
}

type AskRequest struct {
	Miner address.Address
}

type AskResponse struct {
	Ask *SignedStorageAsk
}
