package main

import (
	"bytes"
	"context"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin"
	"github.com/filecoin-project/go-state-types/exitcode"
	"github.com/google/uuid"
	"github.com/ipfs/go-cid"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/xerrors"

	"github.com/filecoin-project/lotus/api"
	"github.com/filecoin-project/lotus/chain/types"
)

var (
	builtinMarket = builtin.StorageMarketActorAddr
	builtinSystem = builtin.SystemActorAddr
)

const (
	baseFee           = 100
	defaultGasPremium = 100_000
	defaultGasFeeCap  = 200_000
)

func blake2b256(b []byte) []byte {
	s := blake2b.Sum256(b)
	return s[:]
}

// mpoolPushMessage follows lotus/node/impl/full/mpool.go: a MsgUuid seen before returns the message
// signed then and pushes nothing; the nonce must be 0 (the node assigns it); zero gas fields are
// estimated and the fee cap is limited by MaxFee; the node's wallet signs.
func (p *Peer) mpoolPushMessage(_ context.Context, msg *types.Message, spec *api.MessageSendSpec) (*types.SignedMessage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if spec != nil && spec.MsgUuid != uuid.Nil {
		if prev, ok := p.uuids[spec.MsgUuid]; ok {
			return prev.signed, nil
		}
	}
	if msg.Nonce != 0 {
		return nil, xerrors.Errorf("MpoolPushMessage expects message nonce to be 0, was %d", msg.Nonce)
	}
	if msg.Version != types.MessageVersion {
		return nil, xerrors.Errorf("'Version' unsupported")
	}
	fromID, err := p.lookupID(msg.From)
	if err != nil {
		return nil, xerrors.Errorf("getting key address: %w", err)
	}
	fromKey, err := p.keyOf(fromID)
	if err != nil {
		return nil, xerrors.Errorf("getting key address: %w", err)
	}
	m := *msg
	m.From = fromKey
	if m.GasLimit == 0 {
		m.GasLimit = estimateGasLimit(&m)
	}
	if m.GasPremium.Nil() || m.GasPremium.IsZero() {
		m.GasPremium = big.NewInt(defaultGasPremium)
	}
	if m.GasFeeCap.Nil() || m.GasFeeCap.IsZero() {
		m.GasFeeCap = big.NewInt(defaultGasFeeCap)
	}
	if m.Value.Nil() {
		m.Value = big.Zero()
	}
	if spec != nil && !spec.MaxFee.Nil() && !spec.MaxFee.IsZero() {
		maxFeeCap := big.Div(spec.MaxFee, big.NewInt(m.GasLimit))
		if spec.MaximizeFeeCap || big.Cmp(m.GasFeeCap, maxFeeCap) > 0 {
			m.GasFeeCap = maxFeeCap
		}
		if big.Cmp(m.GasPremium, m.GasFeeCap) > 0 {
			m.GasPremium = m.GasFeeCap
		}
	}
	required := big.Add(m.Value, big.Mul(m.GasFeeCap, big.NewInt(m.GasLimit)))
	if bal := p.actors[fromID].balance; big.Cmp(bal, required) < 0 {
		return nil, xerrors.Errorf("mpool push: not enough funds: %s < %s", bal, required)
	}
	m.Nonce = p.nonces[fromID]
	sm, err := p.signMessage(&m)
	if err != nil {
		return nil, err
	}
	p.nonces[fromID]++
	rec := &msgRecord{signed: sm}
	if spec != nil {
		rec.uuid = spec.MsgUuid
		if spec.MsgUuid != uuid.Nil {
			p.uuids[spec.MsgUuid] = rec
		}
	}
	p.mpool = append(p.mpool, rec)
	p.msgs[sm.Cid()] = rec
	p.msgs[m.Cid()] = rec
	return sm, nil
}

func estimateGasLimit(m *types.Message) int64 {
	if m.To == builtinMarket && m.Method == builtin.MethodsMarket.PublishStorageDeals {
		return 50_000_000
	}
	return 5_000_000
}

// execute applies one included message at height h (the execution tipset).
func (p *Peer) execute(m *msgRecord, h abi.ChainEpoch) {
	msg := &m.signed.Message
	m.executed = h
	fromID, _ := p.lookupID(msg.From)
	from := p.actors[fromID]
	gasUsed := msg.GasLimit * 3 / 4
	price := big.Min(msg.GasFeeCap, big.Add(big.NewInt(baseFee), msg.GasPremium))
	from.balance = big.Sub(from.balance, big.Mul(price, big.NewInt(gasUsed)))
	m.receipt = types.MessageReceipt{ExitCode: exitcode.Ok, GasUsed: gasUsed}

	fail := func(code exitcode.ExitCode) { m.receipt.ExitCode = code }
	if big.Cmp(from.balance, msg.Value) < 0 {
		fail(exitcode.SysErrInsufficientFunds)
		return
	}
	switch {
	case msg.To == builtinMarket && msg.Method == builtin.MethodsMarket.AddBalance:
		var target address.Address
		if err := target.UnmarshalCBOR(bytes.NewReader(msg.Params)); err != nil {
			fail(exitcode.ErrSerialization)
			return
		}
		tid, err := p.lookupID(target)
		if err != nil {
			fail(exitcode.ErrNotFound)
			return
		}
		from.balance = big.Sub(from.balance, msg.Value)
		p.escrow[tid] = big.Add(p.escrowOf(tid), msg.Value)
	case msg.To == builtinMarket && msg.Method == builtin.MethodsMarket.PublishStorageDeals:
		ret, retDec, code := p.publishStorageDeals(fromID, msg.Params, h)
		if code != exitcode.Ok {
			fail(code)
			return
		}
		m.receipt.Return = ret
		m.returnDec = retDec
	case msg.Method == builtin.MethodSend:
		to := msg.To
		if to.Protocol() != address.ID {
			to = p.ensureAccount(to)
		}
		toActor, ok := p.actors[to]
		if !ok {
			fail(exitcode.SysErrInvalidReceiver)
			return
		}
		from.balance = big.Sub(from.balance, msg.Value)
		toActor.balance = big.Add(toActor.balance, msg.Value)
	default:
		fail(exitcode.SysErrInvalidMethod)
	}
}

func (p *Peer) escrowOf(id address.Address) big.Int {
	if v, ok := p.escrow[id]; ok {
		return v
	}
	return big.Zero()
}

func (p *Peer) lockedOf(id address.Address) big.Int {
	if v, ok := p.locked[id]; ok {
		return v
	}
	return big.Zero()
}

// lookupMsg finds an executed message by signed or unsigned CID and builds Lotus's MsgLookup.
func (p *Peer) lookupMsg(c cid.Cid) (*msgRecord, *api.MsgLookup) {
	m, ok := p.msgs[c]
	if !ok || m.executed == 0 {
		return m, nil
	}
	ts := p.tipsetAt(m.executed)
	return m, &api.MsgLookup{
		Message:   m.signed.Cid(),
		Receipt:   m.receipt,
		ReturnDec: m.returnDec,
		TipSet:    ts.Key(),
		Height:    m.executed,
	}
}
