package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand"
	"sync"
	"time"

	"github.com/filecoin-project/go-address"
	gocrypto "github.com/filecoin-project/go-crypto"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/google/uuid"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	"golang.org/x/xerrors"

	"github.com/filecoin-project/lotus/api"
	"github.com/filecoin-project/lotus/chain/types"
)

// Config holds the knobs of the simulation; every field has a flag in main.go.
type Config struct {
	BlockTime               time.Duration
	StartHeight             abi.ChainEpoch
	MinerID                 uint64
	Network                 string
	NetworkVersion          uint
	StartEpochSealingBuffer abi.ChainEpoch
	SealEpochsPerState      abi.ChainEpoch
	WaitDealsEpochs         abi.ChainEpoch
	SeedFile                string
	RandSeed                int64
}

func defaultConfig() Config {
	return Config{
		BlockTime:               time.Second,
		StartHeight:             1000,
		MinerID:                 1000,
		Network:                 "testnet",
		NetworkVersion:          27,
		StartEpochSealingBuffer: 480, // lotus-miner's default
		SealEpochsPerState:      1,
		WaitDealsEpochs:         2,
	}
}

// actor is an account (with a key address) or the miner; balances in attoFIL.
type actor struct {
	id      address.Address
	key     address.Address // robust/key address; Undef for the miner
	balance big.Int
	kind    string // delegated (f4) actors: kindEthAccount, kindContractAccepts or kindContractRefuses
}

// msgRecord is one message the node accepted into its pool.
type msgRecord struct {
	signed     *types.SignedMessage
	uuid       uuid.UUID
	included   abi.ChainEpoch // 0 while pending
	executed   abi.ChainEpoch // the child of the inclusion tipset, where the receipt lives
	receipt    types.MessageReceipt
	returnDec  interface{}
	executedOk bool
}

// Peer is the whole simulated world: one chain, one market, one miner.
type Peer struct {
	cfg    Config
	tokens *tokens
	faults *faults

	mu      sync.Mutex
	headCh  chan struct{} // closed and replaced whenever the head changes
	tipsets []*types.TipSet
	baseH   abi.ChainEpoch
	actors  map[address.Address]*actor // by ID address
	byKey   map[address.Address]address.Address
	nextID  uint64
	keys    map[address.Address][]byte // secp private keys the node's wallet holds, by key address
	nonces  map[address.Address]uint64 // by ID
	mpool   []*msgRecord
	msgs    map[cid.Cid]*msgRecord // by signed and unsigned CID
	uuids   map[uuid.UUID]*msgRecord
	escrow  map[address.Address]big.Int
	locked  map[address.Address]big.Int
	datacap map[address.Address]big.Int
	market  *marketState
	sealing *sealing
	calls   map[string]int
	rng     *rand.Rand

	minerAddr address.Address
	ownerID   address.Address
	workerID  address.Address
	workerKey address.Address
	peerID    string
	addrs     [][]byte
}

func newPeer(cfg Config) (*Peer, error) {
	t, err := newTokens()
	if err != nil {
		return nil, err
	}
	p := &Peer{
		cfg: cfg, tokens: t, faults: newFaults(cfg.RandSeed),
		headCh: make(chan struct{}), actors: map[address.Address]*actor{}, byKey: map[address.Address]address.Address{},
		nextID: 1001, keys: map[address.Address][]byte{}, nonces: map[address.Address]uint64{},
		msgs: map[cid.Cid]*msgRecord{}, uuids: map[uuid.UUID]*msgRecord{},
		escrow: map[address.Address]big.Int{}, locked: map[address.Address]big.Int{}, datacap: map[address.Address]big.Int{},
		market: newMarketState(), calls: map[string]int{}, rng: rand.New(rand.NewSource(cfg.RandSeed)),
	}
	p.sealing = newSealing(p)
	if p.minerAddr, err = address.NewIDAddress(cfg.MinerID); err != nil {
		return nil, err
	}
	if p.nextID <= cfg.MinerID {
		p.nextID = cfg.MinerID + 1
	}
	p.actors[p.minerAddr] = &actor{id: p.minerAddr, balance: big.Zero()}
	// The worker doubles as owner: one secp key the node's wallet holds, funded generously.
	sk, err := gocrypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	if p.workerKey, err = address.NewSecp256k1Address(gocrypto.PublicKey(sk)); err != nil {
		return nil, err
	}
	p.keys[p.workerKey] = sk
	p.workerID = p.ensureAccount(p.workerKey)
	p.actors[p.workerID].balance = big.Mul(big.NewInt(1_000_000), big.NewInt(1e18))
	p.ownerID = p.workerID
	p.peerID = "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"
	p.baseH = cfg.StartHeight
	ts, err := p.makeTipSet(cfg.StartHeight, nil)
	if err != nil {
		return nil, err
	}
	p.tipsets = append(p.tipsets, ts)
	return p, nil
}

// ensureAccount returns the ID of a key address, creating the account actor when first seen (as
// a send to a new key address does on chain). Callers hold p.mu.
func (p *Peer) ensureAccount(key address.Address) address.Address {
	if id, ok := p.byKey[key]; ok {
		return id
	}
	id, _ := address.NewIDAddress(p.nextID)
	p.nextID++
	p.actors[id] = &actor{id: id, key: key, balance: big.Zero()}
	p.byKey[key] = id
	return id
}

// lookupID resolves any address to its ID address, or api.ErrActorNotFound.
func (p *Peer) lookupID(a address.Address) (address.Address, error) {
	if a.Protocol() == address.ID {
		if _, ok := p.actors[a]; ok {
			return a, nil
		}
		if a == builtinMarket || a == builtinSystem {
			return a, nil
		}
		return address.Undef, &api.ErrActorNotFound{}
	}
	if id, ok := p.byKey[a]; ok {
		return id, nil
	}
	return address.Undef, &api.ErrActorNotFound{}
}

func (p *Peer) head() *types.TipSet { return p.tipsets[len(p.tipsets)-1] }

func (p *Peer) tipsetAt(h abi.ChainEpoch) *types.TipSet {
	i := int(h - p.baseH)
	if i < 0 || i >= len(p.tipsets) {
		return nil
	}
	return p.tipsets[i]
}

func dummyCid(tag string, h abi.ChainEpoch) cid.Cid {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(h))
	sum := sha256.Sum256(append([]byte(tag), b[:]...))
	c, _ := mh.Encode(sum[:], mh.SHA2_256)
	return cid.NewCidV1(cid.DagCBOR, c)
}

// makeTipSet builds a one-block tipset with a structurally valid header (its CID is real; its
// proofs are not).
func (p *Peer) makeTipSet(h abi.ChainEpoch, parent *types.TipSet) (*types.TipSet, error) {
	var parents []cid.Cid
	if parent != nil {
		parents = parent.Cids()
	} else {
		parents = []cid.Cid{dummyCid("genesis", 0)}
	}
	sig := &crypto.Signature{Type: crypto.SigTypeBLS, Data: make([]byte, 96)}
	bh := &types.BlockHeader{
		Miner:                 p.minerAddr,
		Ticket:                &types.Ticket{VRFProof: dummyCid("ticket", h).Bytes()},
		ElectionProof:         &types.ElectionProof{WinCount: 1, VRFProof: dummyCid("election", h).Bytes()},
		Parents:               parents,
		ParentWeight:          big.NewInt(int64(h) * 1000),
		Height:                h,
		ParentStateRoot:       dummyCid("state", h),
		ParentMessageReceipts: dummyCid("receipts", h),
		Messages:              dummyCid("messages", h),
		BLSAggregate:          sig,
		Timestamp:             uint64(time.Now().Unix()),
		BlockSig:              sig,
		ParentBaseFee:         big.NewInt(100),
	}
	return types.NewTipSet([]*types.BlockHeader{bh})
}

// run advances the chain every BlockTime until ctx ends.
func (p *Peer) run(ctx context.Context) {
	tick := time.NewTicker(p.cfg.BlockTime)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p.mu.Lock()
			p.advanceLocked()
			p.mu.Unlock()
		}
	}
}

// advanceLocked makes one new tipset: messages included in the parent execute now (their receipts
// belong to this tipset, as in Lotus), the pool is included, and sealing moves on.
func (p *Peer) advanceLocked() {
	parent := p.head()
	h := parent.Height() + 1
	for _, m := range p.mpool {
		if m.included != 0 && m.executed == 0 {
			p.execute(m, h)
		}
	}
	var pending []*msgRecord
	for _, m := range p.mpool {
		switch {
		case m.included == 0:
			m.included = h
			pending = append(pending, m)
		case m.executed == 0:
			pending = append(pending, m)
		}
	}
	p.mpool = pending
	ts, err := p.makeTipSet(h, parent)
	if err != nil {
		panic(err)
	}
	p.tipsets = append(p.tipsets, ts)
	p.sealing.tick(h)
	close(p.headCh)
	p.headCh = make(chan struct{})
}

// waitHead blocks until the head changes or ctx ends. Callers must not hold p.mu.
func (p *Peer) waitHead(ctx context.Context) error {
	p.mu.Lock()
	ch := p.headCh
	p.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// signMessage signs the CID bytes of msg with a key held by the node's wallet.
func (p *Peer) signMessage(msg *types.Message) (*types.SignedMessage, error) {
	sk, ok := p.keys[msg.From]
	if !ok {
		return nil, xerrors.Errorf("failed to sign message: key not found for %s", msg.From)
	}
	digest := blake2b256(msg.Cid().Bytes())
	sig, err := gocrypto.Sign(sk, digest)
	if err != nil {
		return nil, err
	}
	return &types.SignedMessage{Message: *msg, Signature: crypto.Signature{Type: crypto.SigTypeSecp256k1, Data: sig}}, nil
}

func (p *Peer) keyOf(id address.Address) (address.Address, error) {
	a, ok := p.actors[id]
	if !ok {
		return address.Undef, &api.ErrActorNotFound{}
	}
	if a.key == address.Undef {
		return address.Undef, xerrors.Errorf("actor %s is not an account actor", id)
	}
	return a.key, nil
}

func (p *Peer) countCall(method string) { p.calls[method]++ }

func fmtAtto(b big.Int) string { return fmt.Sprint(b.String()) }
