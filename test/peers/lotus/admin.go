package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/big"
	"golang.org/x/xerrors"
)

// seedAccount creates (or tops up) an account: a key address with wallet balance, market escrow
// (and locked funds) and optionally DataCap; the answer carries the ID the peer assigned. An f410
// address is a delegated actor whose kind says how it answers AuthenticateMessage (authenticate.go):
// "ethaccount" (the default), "contract-accepts" or "contract-refuses".
type seedAccount struct {
	Address string `json:"address"`
	Actor   string `json:"actor,omitempty"`
	Balance string `json:"balance,omitempty"`
	Escrow  string `json:"escrow,omitempty"`
	Locked  string `json:"locked,omitempty"`
	Datacap string `json:"datacap,omitempty"`
}

type seedRequest struct {
	Accounts    []seedAccount `json:"accounts"`
	MinerEscrow string        `json:"minerEscrow,omitempty"`
	PeerID      string        `json:"peerId,omitempty"`
	Multiaddrs  []string      `json:"multiaddrs,omitempty"` // base64 of binary multiaddrs, as Lotus JSON has them
}

type seedResult struct {
	Accounts []struct {
		Address string `json:"address"`
		ID      string `json:"id"`
	} `json:"accounts"`
}

func parseAtto(s string) (big.Int, error) {
	if s == "" {
		return big.Zero(), nil
	}
	return big.FromString(s)
}

func (p *Peer) seed(req seedRequest) (seedResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var res seedResult
	for _, a := range req.Accounts {
		addr, err := address.NewFromString(a.Address)
		if err != nil {
			return res, xerrors.Errorf("account %q: %w", a.Address, err)
		}
		kind := ""
		switch addr.Protocol() {
		case address.SECP256K1, address.BLS:
			if a.Actor != "" {
				return res, xerrors.Errorf("account %q: only f4 addresses take an actor kind", a.Address)
			}
		case address.Delegated:
			if len(addr.Payload()) == 0 || addr.Payload()[0] != eamNamespace {
				return res, xerrors.Errorf("account %q: only f410 (EAM) delegated addresses can be seeded", a.Address)
			}
			switch a.Actor {
			case "", kindEthAccount:
				kind = kindEthAccount
			case kindContractAccepts, kindContractRefuses:
				kind = a.Actor
			default:
				return res, xerrors.Errorf("account %q: unknown actor kind %q", a.Address, a.Actor)
			}
		default:
			return res, xerrors.Errorf("account %q: only f1/f3 key addresses and f410 addresses can be seeded", a.Address)
		}
		id := p.ensureAccount(addr)
		if kind != "" {
			if k := p.actors[id].kind; k != "" && k != kind {
				return res, xerrors.Errorf("account %q: already a %s", a.Address, k)
			}
			p.actors[id].kind = kind
		}
		vals := make([]big.Int, 4)
		for i, s := range []string{a.Balance, a.Escrow, a.Locked, a.Datacap} {
			if vals[i], err = parseAtto(s); err != nil {
				return res, xerrors.Errorf("account %q: %w", a.Address, err)
			}
		}
		act := p.actors[id]
		act.balance = big.Add(act.balance, vals[0])
		p.escrow[id] = big.Add(p.escrowOf(id), vals[1])
		p.locked[id] = big.Add(p.lockedOf(id), vals[2])
		if a.Datacap != "" {
			p.datacap[id] = vals[3]
		}
		res.Accounts = append(res.Accounts, struct {
			Address string `json:"address"`
			ID      string `json:"id"`
		}{addr.String(), id.String()})
	}
	if req.MinerEscrow != "" {
		v, err := parseAtto(req.MinerEscrow)
		if err != nil {
			return res, err
		}
		p.escrow[p.minerAddr] = big.Add(p.escrowOf(p.minerAddr), v)
	}
	if req.PeerID != "" {
		p.peerID = req.PeerID
	}
	if req.Multiaddrs != nil {
		p.addrs = nil
		for _, m := range req.Multiaddrs {
			var b []byte
			if err := json.Unmarshal([]byte(`"`+m+`"`), &b); err != nil {
				return res, xerrors.Errorf("multiaddr %q: %w", m, err)
			}
			p.addrs = append(p.addrs, b)
		}
	}
	return res, nil
}

// handleAdmin serves the test-only endpoints:
//
//	POST /admin/seed     seedRequest  -> seedResult
//	POST /admin/faults   faultRequest -> {}
//	POST /admin/advance  {"epochs":n} -> {"height":h}  (advance the chain now, without waiting)
func (p *Peer) handleAdmin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var out interface{}
	var err error
	switch strings.TrimPrefix(r.URL.Path, "/admin/") {
	case "seed":
		var req seedRequest
		if err = json.NewDecoder(r.Body).Decode(&req); err == nil {
			out, err = p.seed(req)
		}
	case "faults":
		var req faultRequest
		if err = json.NewDecoder(r.Body).Decode(&req); err == nil {
			p.faults.apply(req)
			out = map[string]string{}
		}
	case "advance":
		var req struct {
			Epochs int `json:"epochs"`
		}
		if err = json.NewDecoder(r.Body).Decode(&req); err == nil {
			p.mu.Lock()
			for i := 0; i < req.Epochs; i++ {
				p.advanceLocked()
			}
			out = map[string]int64{"height": int64(p.head().Height())}
			p.mu.Unlock()
		}
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

type introMessage struct {
	Cid       string `json:"cid"`
	SignedCid string `json:"signedCid"`
	From      string `json:"from"`
	To        string `json:"to"`
	Method    uint64 `json:"method"`
	Nonce     uint64 `json:"nonce"`
	MsgUuid   string `json:"msgUuid,omitempty"`
	Included  int64  `json:"included"`
	Executed  int64  `json:"executed"`
	ExitCode  int64  `json:"exitCode"`
}

// handleIntrospect answers GET /introspect: what the node did, for exactly-once assertions.
func (p *Peer) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	seen := map[*msgRecord]bool{}
	msgs := []introMessage{}
	for _, m := range p.msgs {
		if seen[m] {
			continue
		}
		seen[m] = true
		im := introMessage{Cid: m.signed.Message.Cid().String(), SignedCid: m.signed.Cid().String(),
			From: m.signed.Message.From.String(), To: m.signed.Message.To.String(), Method: uint64(m.signed.Message.Method),
			Nonce: m.signed.Message.Nonce, Included: int64(m.included), Executed: int64(m.executed), ExitCode: int64(m.receipt.ExitCode)}
		if m.uuid.String() != "00000000-0000-0000-0000-000000000000" {
			im.MsgUuid = m.uuid.String()
		}
		msgs = append(msgs, im)
	}
	sort.Slice(msgs, func(i, j int) bool {
		if msgs[i].From != msgs[j].From {
			return msgs[i].From < msgs[j].From
		}
		return msgs[i].Nonce < msgs[j].Nonce
	})
	p.faults.mu.Lock()
	injected := map[string]int{}
	for k, v := range p.faults.injected {
		injected[k] = v
	}
	p.faults.mu.Unlock()
	calls := map[string]int{}
	for k, v := range p.calls {
		calls[k] = v
	}
	deals := map[string]interface{}{}
	for id, d := range p.market.deals {
		deals[fmt.Sprint(uint64(id))] = map[string]interface{}{"proposalCid": d.publish.String(), "sectorStartEpoch": d.state.SectorStartEpoch, "sector": d.state.SectorNumber}
	}
	out := map[string]interface{}{
		"height":     p.head().Height(),
		"messages":   msgs,
		"publishes":  p.market.published,
		"publishLog": p.market.events,
		"deals":      deals,
		"pieces":     p.sealing.added,
		"rejects":    p.sealing.rejects,
		"calls":      calls,
		"injected":   injected,
	}
	w.Header().Set("Content-Type", "application/json")
	err := json.NewEncoder(w).Encode(out)
	p.mu.Unlock()
	_ = err
}
