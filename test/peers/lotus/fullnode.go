package main

import (
	"bytes"
	"context"

	"github.com/filecoin-project/go-address"
	gocrypto "github.com/filecoin-project/go-crypto"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/network"
	"github.com/filecoin-project/lotus/chain/actors/builtin/miner"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/xerrors"

	"github.com/filecoin-project/lotus/api"
	apitypes "github.com/filecoin-project/lotus/api/types"
	"github.com/filecoin-project/lotus/chain/types"
	"github.com/filecoin-project/lotus/node/modules/dtypes"
)

// chainFinality is policy.ChainFinality; StateWaitMsg refuses a larger confidence.
const chainFinality = 900

// fullNodeAPI fills lotus/api's FullNodeStruct with the methods the peer implements; every other
// method answers ErrNotSupported, as the generated proxy does.
func (p *Peer) fullNodeAPI() *api.FullNodeStruct {
	var s api.FullNodeStruct
	in := &s.Internal
	s.CommonStruct.Internal.Version = func(ctx context.Context) (api.APIVersion, error) {
		return api.APIVersion{Version: "lotus-peer+dealyard", APIVersion: api.FullAPIVersion1, BlockDelay: uint64(p.cfg.BlockTime.Seconds())}, nil
	}
	in.ChainHead = func(ctx context.Context) (*types.TipSet, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("ChainHead")
		return p.head(), nil
	}
	in.ChainGetMessage = func(ctx context.Context, c cid.Cid) (*types.Message, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("ChainGetMessage")
		m, ok := p.msgs[c]
		if !ok {
			return nil, xerrors.Errorf("failed to load message: blockstore: block not found")
		}
		msg := m.signed.Message
		return &msg, nil
	}
	in.StateMinerInfo = func(ctx context.Context, a address.Address, tsk types.TipSetKey) (api.MinerInfo, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("StateMinerInfo")
		id, err := p.lookupID(a)
		if err != nil || id != p.minerAddr {
			return api.MinerInfo{}, xerrors.Errorf("failed to load miner actor: %w", &api.ErrActorNotFound{})
		}
		pid, err := peer.Decode(p.peerID)
		if err != nil {
			return api.MinerInfo{}, err
		}
		var maddrs []abi.Multiaddrs
		for _, b := range p.addrs {
			maddrs = append(maddrs, b)
		}
		return api.MinerInfo{
			Owner: p.ownerID, Worker: p.workerID, NewWorker: address.Undef, ControlAddresses: nil,
			WorkerChangeEpoch: -1, PeerId: &pid, Multiaddrs: maddrs,
			WindowPoStProofType: abi.RegisteredPoStProof_StackedDrgWindow32GiBV1_1, SectorSize: sectorSize,
			WindowPoStPartitionSectors: 2349, ConsensusFaultElapsed: -1, Beneficiary: p.ownerID,
			BeneficiaryTerm: &miner.BeneficiaryTerm{Quota: big.Zero(), UsedQuota: big.Zero(), Expiration: 0},
		}, nil
	}
	in.StateAccountKey = func(ctx context.Context, a address.Address, tsk types.TipSetKey) (address.Address, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("StateAccountKey")
		switch a.Protocol() {
		case address.SECP256K1, address.BLS, address.Delegated:
			return a, nil // key addresses come back unchanged
		case address.ID:
			id, err := p.lookupID(a)
			if err != nil {
				return address.Undef, xerrors.Errorf("resolution lookup failed (%s): %w", a, err)
			}
			return p.keyOf(id)
		default:
			return address.Undef, xerrors.Errorf("address %s is not a public key type", a)
		}
	}
	in.StateLookupID = func(ctx context.Context, a address.Address, tsk types.TipSetKey) (address.Address, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("StateLookupID")
		return p.lookupID(a)
	}
	in.StateMarketBalance = func(ctx context.Context, a address.Address, tsk types.TipSetKey) (api.MarketBalance, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("StateMarketBalance")
		id, err := p.lookupID(a)
		if err != nil {
			return api.MarketBalance{}, xerrors.Errorf("failed to resolve address: %w", err)
		}
		return api.MarketBalance{Escrow: p.escrowOf(id), Locked: p.lockedOf(id)}, nil
	}
	in.StateDealProviderCollateralBounds = func(ctx context.Context, size abi.PaddedPieceSize, verified bool, tsk types.TipSetKey) (api.DealCollateralBounds, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("StateDealProviderCollateralBounds")
		return collateralBounds(size, verified), nil
	}
	in.StateVerifiedClientStatus = func(ctx context.Context, a address.Address, tsk types.TipSetKey) (*abi.StoragePower, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("StateVerifiedClientStatus")
		id, err := p.lookupID(a)
		if err != nil {
			return nil, err
		}
		dc, ok := p.datacap[id]
		if !ok {
			return nil, nil
		}
		return &dc, nil
	}
	in.StateCall = func(ctx context.Context, msg *types.Message, tsk types.TipSetKey) (*api.InvocResult, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("StateCall")
		return p.stateCall(msg)
	}
	in.StateNetworkName = func(ctx context.Context) (dtypes.NetworkName, error) {
		p.countCallLocked("StateNetworkName")
		// What Lotus answers: mainnet's state calls it "testnetnet"; a testnet peer says it is calibnet.
		if p.cfg.Network == "mainnet" {
			return "testnetnet", nil
		}
		return "calibrationnet", nil
	}
	in.StateNetworkVersion = func(ctx context.Context, tsk types.TipSetKey) (apitypes.NetworkVersion, error) {
		p.countCallLocked("StateNetworkVersion")
		return network.Version(p.cfg.NetworkVersion), nil
	}
	in.MpoolPushMessage = func(ctx context.Context, msg *types.Message, spec *api.MessageSendSpec) (*types.SignedMessage, error) {
		p.countCallLocked("MpoolPushMessage")
		return p.mpoolPushMessage(ctx, msg, spec)
	}
	in.MarketAddBalance = func(ctx context.Context, wallet, a address.Address, amt types.BigInt) (cid.Cid, error) {
		p.countCallLocked("MarketAddBalance")
		var params bytes.Buffer
		if err := a.MarshalCBOR(&params); err != nil {
			return cid.Undef, err
		}
		sm, err := p.mpoolPushMessage(ctx, &types.Message{To: builtinMarket, From: wallet, Value: amt,
			Method: builtin.MethodsMarket.AddBalance, Params: params.Bytes()}, nil)
		if err != nil {
			return cid.Undef, xerrors.Errorf("add balance: %w", err)
		}
		return sm.Cid(), nil
	}
	in.StateWaitMsg = func(ctx context.Context, c cid.Cid, confidence uint64, limit abi.ChainEpoch, allowReplaced bool) (*api.MsgLookup, error) {
		p.countCallLocked("StateWaitMsg")
		if confidence > chainFinality {
			return nil, xerrors.Errorf("invalid confidence %d: max %d", confidence, chainFinality)
		}
		for {
			p.mu.Lock()
			rec, lookup := p.lookupMsg(c)
			if rec == nil {
				p.mu.Unlock()
				return nil, xerrors.Errorf("failed to load message: blockstore: block not found")
			}
			ready := lookup != nil && p.head().Height() >= lookup.Height+abi.ChainEpoch(confidence)
			p.mu.Unlock()
			if ready {
				return lookup, nil
			}
			if err := p.waitHead(ctx); err != nil {
				return nil, err
			}
		}
	}
	in.StateSearchMsg = func(ctx context.Context, from types.TipSetKey, c cid.Cid, limit abi.ChainEpoch, allowReplaced bool) (*api.MsgLookup, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("StateSearchMsg")
		_, lookup := p.lookupMsg(c)
		if lookup == nil {
			return nil, nil
		}
		lookup.ReturnDec = nil // only StateWaitMsg decodes the return
		return lookup, nil
	}
	in.StateMarketStorageDeal = func(ctx context.Context, id abi.DealID, tsk types.TipSetKey) (*api.MarketDeal, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("StateMarketStorageDeal")
		d, ok := p.market.deals[id]
		if !ok {
			return nil, xerrors.Errorf("deal %d not found", id)
		}
		return &api.MarketDeal{Proposal: d.proposal, State: d.state}, nil
	}
	in.WalletSign = func(ctx context.Context, a address.Address, msg []byte) (*crypto.Signature, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("WalletSign")
		key := a
		if a.Protocol() == address.ID {
			id, err := p.lookupID(a)
			if err != nil {
				return nil, err
			}
			if key, err = p.keyOf(id); err != nil {
				return nil, err
			}
		}
		sk, ok := p.keys[key]
		if !ok {
			return nil, xerrors.Errorf("failed to sign message: key not found for %s", a)
		}
		sig, err := gocrypto.Sign(sk, blake2b256(msg))
		if err != nil {
			return nil, err
		}
		return &crypto.Signature{Type: crypto.SigTypeSecp256k1, Data: sig}, nil
	}
	in.WalletBalance = func(ctx context.Context, a address.Address) (types.BigInt, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("WalletBalance")
		id, err := p.lookupID(a)
		if err != nil {
			return big.Zero(), nil // Lotus answers 0 for an address with no actor
		}
		return p.actors[id].balance, nil
	}
	return &s
}

func (p *Peer) countCallLocked(m string) {
	p.mu.Lock()
	p.countCall(m)
	p.mu.Unlock()
}

// collateralBounds: a fixed rate of 1 nanoFIL per GiB-equivalent byte stands in for the power-based
// formula; Max is the FIL supply, as in the market actor.
func collateralBounds(size abi.PaddedPieceSize, verified bool) api.DealCollateralBounds {
	min := big.Div(big.Mul(big.NewInt(int64(size)), big.NewInt(1_000_000_000)), big.NewInt(1<<30))
	if verified {
		min = big.Mul(min, big.NewInt(10))
	}
	max := big.Mul(big.NewInt(2_000_000_000), big.NewInt(1e18))
	return api.DealCollateralBounds{Min: min, Max: max}
}
