package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/filecoin-project/go-address"
	commcid "github.com/filecoin-project/go-fil-commcid"
	commp "github.com/filecoin-project/go-fil-commp-hashhash"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"
	"golang.org/x/xerrors"

	"github.com/filecoin-project/lotus/api"
	"github.com/filecoin-project/lotus/storage/pipeline/piece"
	"github.com/filecoin-project/lotus/storage/sealer/storiface"
)

const sectorSize = abi.SectorSize(32 << 30)

// sealStates is the happy path of lotus/storage/pipeline/sector_state.go for a deal sector.
var sealStates = []string{"WaitDeals", "Packing", "GetTicket", "PreCommit1", "PreCommit2", "PreCommitting",
	"PreCommitWait", "WaitSeed", "Committing", "CommitWait", "FinalizeSector", "Proving"}

type sectorRec struct {
	number     abi.SectorNumber
	state      int
	since      abi.ChainEpoch
	filled     abi.PaddedPieceSize
	pieces     []api.SectorPiece
	log        []api.SectorLog
	lastErr    string
	failed     string
	activation abi.ChainEpoch
}

type pendingAdd struct {
	done chan struct{}
	res  api.SectorOffset
	err  error
}

type pieceEvent struct {
	Sector   uint64 `json:"sector"`
	Offset   uint64 `json:"offset"`
	Size     uint64 `json:"size"`
	PieceCid string `json:"pieceCid"`
	DealID   uint64 `json:"dealId"`
	Received uint64 `json:"receivedBytes"`
}

type sealing struct {
	p       *Peer
	sectors map[abi.SectorNumber]*sectorRec
	open    *sectorRec
	next    abi.SectorNumber
	pending map[piece.PieceKey]*pendingAdd
	added   []pieceEvent
	rejects []string
}

func newSealing(p *Peer) *sealing {
	return &sealing{p: p, sectors: map[abi.SectorNumber]*sectorRec{}, next: 1, pending: map[piece.PieceKey]*pendingAdd{}}
}

func (p *Peer) minerAPI() *api.StorageMinerStruct {
	var s api.StorageMinerStruct
	in := &s.Internal
	s.CommonStruct.Internal.Version = func(ctx context.Context) (api.APIVersion, error) {
		return api.APIVersion{Version: "lotus-peer+dealyard", APIVersion: api.MinerAPIVersion0, BlockDelay: uint64(p.cfg.BlockTime.Seconds())}, nil
	}
	in.ActorAddress = func(ctx context.Context) (address.Address, error) {
		p.countCallLocked("ActorAddress")
		return p.minerAddr, nil
	}
	in.SectorAddPieceToAny = func(ctx context.Context, size abi.UnpaddedPieceSize, r storiface.Data, d piece.PieceDealInfo) (api.SectorOffset, error) {
		p.countCallLocked("SectorAddPieceToAny")
		return p.sealing.addPiece(ctx, size, r, d)
	}
	in.ComputeDataCid = func(ctx context.Context, size abi.UnpaddedPieceSize, r storiface.Data) (abi.PieceInfo, error) {
		p.countCallLocked("ComputeDataCid")
		c, _, err := pieceCommitment(size, r)
		if err != nil {
			return abi.PieceInfo{}, err
		}
		return abi.PieceInfo{Size: size.Padded(), PieceCID: c}, nil
	}
	in.SectorsList = func(ctx context.Context) ([]abi.SectorNumber, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("SectorsList")
		out := []abi.SectorNumber{}
		for n := abi.SectorNumber(1); n < p.sealing.next; n++ {
			out = append(out, n)
		}
		return out, nil
	}
	in.SectorsStatus = func(ctx context.Context, n abi.SectorNumber, showOnChain bool) (api.SectorInfo, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.countCall("SectorsStatus")
		return p.sealing.status(n, showOnChain)
	}
	return &s
}

// pieceCommitment reads exactly size bytes and returns their v1 piece CID (what the sealer
// computes while writing the piece).
func pieceCommitment(size abi.UnpaddedPieceSize, r io.Reader) (cid.Cid, uint64, error) {
	if err := size.Validate(); err != nil {
		return cid.Undef, 0, xerrors.Errorf("cannot allocate unpadded piece: %w", err)
	}
	cp := &commp.Calc{}
	n, err := io.Copy(cp, io.LimitReader(r, int64(size)))
	if err != nil {
		return cid.Undef, uint64(n), xerrors.Errorf("reading piece data: %w", err)
	}
	if uint64(n) != uint64(size) {
		return cid.Undef, uint64(n), xerrors.Errorf("reading piece data: got %d of %d bytes", n, size)
	}
	raw, _, err := cp.Digest()
	if err != nil {
		return cid.Undef, uint64(n), err
	}
	c, err := commcid.DataCommitmentV1ToCID(raw)
	return c, uint64(n), err
}

// addPiece follows lotus/storage/pipeline/input.go sectorAddPieceToAny: validate, dedupe by
// deal key (a second call waits for the first), write the piece (here: hash it), compare the
// piece CID with the deal's, and place it in the open sector.
func (s *sealing) addPiece(ctx context.Context, size abi.UnpaddedPieceSize, r io.Reader, d piece.PieceDealInfo) (api.SectorOffset, error) {
	p := s.p
	if err := size.Validate(); err != nil {
		return api.SectorOffset{}, xerrors.Errorf("cannot allocate unpadded piece")
	}
	if size > abi.PaddedPieceSize(sectorSize).Unpadded() {
		return api.SectorOffset{}, xerrors.Errorf("piece cannot fit into a sector")
	}
	if err := d.Valid(); err != nil {
		return api.SectorOffset{}, xerrors.Errorf("piece metadata invalid: %w", err)
	}
	start, err := d.StartEpoch()
	if err != nil {
		return api.SectorOffset{}, xerrors.Errorf("getting last start epoch: %w", err)
	}
	p.mu.Lock()
	h := p.head().Height()
	if h+p.cfg.StartEpochSealingBuffer > start {
		p.mu.Unlock()
		return api.SectorOffset{}, xerrors.Errorf("cannot add piece for deal with piece CID %s: current epoch %d has passed deal proposal start epoch %d", d.PieceCID(), h, start)
	}
	key := d.Key()
	if pp, ok := s.pending[key]; ok {
		p.mu.Unlock()
		select {
		case <-pp.done:
		case <-ctx.Done():
			return api.SectorOffset{}, ctx.Err()
		}
		if pp.err == nil {
			return pp.res, nil
		}
		p.mu.Lock()
	}
	pp := &pendingAdd{done: make(chan struct{})}
	s.pending[key] = pp
	p.mu.Unlock()

	got, n, err := pieceCommitment(size, r)
	if c, ok := r.(io.Closer); ok {
		_ = c.Close()
	}
	if err == nil && !got.Equals(d.PieceCID()) {
		err = xerrors.Errorf("got unexpected piece CID: expected:%s, got:%s", d.PieceCID(), got)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		s.rejects = append(s.rejects, err.Error())
		delete(s.pending, key) // a failed add may be retried
		pp.err = err
		close(pp.done)
		return api.SectorOffset{}, err
	}
	sec, off := s.place(size.Padded(), d, h)
	pp.res = api.SectorOffset{Sector: sec.number, Offset: off}
	close(pp.done)
	s.added = append(s.added, pieceEvent{Sector: uint64(sec.number), Offset: uint64(off), Size: uint64(size),
		PieceCid: got.String(), DealID: uint64(d.DealID), Received: n})
	return pp.res, nil
}

// place puts a piece at the next offset aligned to its size, opening a new sector when full.
func (s *sealing) place(size abi.PaddedPieceSize, d piece.PieceDealInfo, h abi.ChainEpoch) (*sectorRec, abi.PaddedPieceSize) {
	if s.open != nil {
		off := (s.open.filled + size - 1) / size * size
		if uint64(off)+uint64(size) > uint64(sectorSize) {
			s.open = nil
		}
	}
	if s.open == nil {
		s.open = &sectorRec{number: s.next, since: h}
		s.sectors[s.next] = s.open
		s.next++
		s.open.log = append(s.open.log, api.SectorLog{Kind: "event;sealing.SectorStartCCWithDeals", Timestamp: uint64(time.Now().Unix())})
	}
	sec := s.open
	off := (sec.filled + size - 1) / size * size
	sec.filled = off + size
	di := d
	sec.pieces = append(sec.pieces, api.SectorPiece{Piece: abi.PieceInfo{Size: size, PieceCID: d.PieceCID()}, DealInfo: &di})
	return sec, off
}

// tick moves sectors through the sealing states; a sector in Proving activates its deals.
func (s *sealing) tick(h abi.ChainEpoch) {
	for n := abi.SectorNumber(1); n < s.next; n++ {
		sec := s.sectors[n]
		if sec.failed != "" || sealStates[sec.state] == "Proving" {
			continue
		}
		wait := s.p.cfg.SealEpochsPerState
		if sec.state == 0 {
			wait = s.p.cfg.WaitDealsEpochs
		}
		if h-sec.since < wait {
			continue
		}
		if sec.state == 0 {
			if s.open == sec {
				s.open = nil
			}
			for _, pc := range sec.pieces {
				if pc.DealInfo.PublishCid == nil {
					continue
				}
				if _, ok := s.p.market.deals[pc.DealInfo.DealID]; !ok {
					sec.failed = "PackingFailed"
					sec.lastErr = fmt.Sprintf("checking pieces: deal %d not found on chain", pc.DealInfo.DealID)
				}
			}
			if sec.failed != "" {
				continue
			}
		}
		sec.state++
		sec.since = h
		sec.log = append(sec.log, api.SectorLog{Kind: "event;sealing." + sealStates[sec.state], Timestamp: uint64(time.Now().Unix())})
		if sealStates[sec.state] == "Proving" {
			sec.activation = h
			for _, pc := range sec.pieces {
				if d, ok := s.p.market.deals[pc.DealInfo.DealID]; ok && pc.DealInfo.PublishCid != nil {
					d.state.SectorNumber = sec.number
					d.state.SectorStartEpoch = h
				}
			}
		}
	}
}

func (s *sealing) status(n abi.SectorNumber, _ bool) (api.SectorInfo, error) {
	sec, ok := s.sectors[n]
	if !ok {
		return api.SectorInfo{}, xerrors.Errorf("getting sector info: sector %d not found", n)
	}
	state := sealStates[sec.state]
	if sec.failed != "" {
		state = sec.failed
	}
	info := api.SectorInfo{SectorID: n, State: api.SectorState(state), Pieces: sec.pieces, Log: sec.log, LastErr: sec.lastErr,
		SealProof: abi.RegisteredSealProof_StackedDrg32GiBV1_1}
	info.Deals = []abi.DealID{}
	for _, pc := range sec.pieces {
		if pc.DealInfo != nil && pc.DealInfo.PublishCid != nil {
			info.Deals = append(info.Deals, pc.DealInfo.DealID)
		}
	}
	if sec.state >= 2 {
		cd, cr := dummyCid("commd", abi.ChainEpoch(n)), dummyCid("commr", abi.ChainEpoch(n))
		info.CommD, info.CommR = &cd, &cr
	}
	if sec.activation > 0 {
		info.Activation = sec.activation
		info.Expiration = sec.activation + 1_555_200
	}
	return info, nil
}
