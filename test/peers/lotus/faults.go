package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// methodFault makes the next Times calls of one method fail in the given way:
//   - "transport": HTTP 503 with a plain-text body, before the call runs
//   - "drop":      the connection is closed before the call runs
//   - "after":     the call runs, then the connection is closed instead of answering (a lost reply)
//   - "rpc":       a JSON-RPC error object (code 1), as a method returning an error would
type methodFault struct {
	Method string `json:"method"`
	Times  int    `json:"times"`
	Mode   string `json:"mode"`
}

// faultSet is the knobs of one endpoint ("full" or "miner").
type faultSet struct {
	LatencyMs   int                     `json:"latencyMs"`
	ErrorRate   float64                 `json:"errorRate"`
	OutageUntil time.Time               `json:"outageUntil"`
	Methods     map[string]*methodFault `json:"methods"`
}

type faults struct {
	mu       sync.Mutex
	rng      *rand.Rand
	sets     map[string]*faultSet
	injected map[string]int
}

func newFaults(seed int64) *faults {
	return &faults{rng: rand.New(rand.NewSource(seed)), sets: map[string]*faultSet{"full": {}, "miner": {}}, injected: map[string]int{}}
}

// faultRequest is the body of POST /admin/faults.
type faultRequest struct {
	Target     string       `json:"target"` // full | miner | both (default both)
	Reset      bool         `json:"reset"`
	LatencyMs  *int         `json:"latencyMs"`
	ErrorRate  *float64     `json:"errorRate"`
	OutageMs   *int         `json:"outageMs"`
	FailMethod *methodFault `json:"failMethod"`
}

func (f *faults) apply(r faultRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	targets := []string{"full", "miner"}
	if r.Target == "full" || r.Target == "miner" {
		targets = []string{r.Target}
	}
	for _, t := range targets {
		s := f.sets[t]
		if r.Reset {
			*s = faultSet{}
		}
		if r.LatencyMs != nil {
			s.LatencyMs = *r.LatencyMs
		}
		if r.ErrorRate != nil {
			s.ErrorRate = *r.ErrorRate
		}
		if r.OutageMs != nil {
			s.OutageUntil = time.Now().Add(time.Duration(*r.OutageMs) * time.Millisecond)
		}
		if r.FailMethod != nil {
			if s.Methods == nil {
				s.Methods = map[string]*methodFault{}
			}
			m := *r.FailMethod
			m.Method = strings.TrimPrefix(m.Method, "Filecoin.")
			if m.Mode == "" {
				m.Mode = "transport"
			}
			s.Methods[m.Method] = &m
		}
	}
}

// decide picks the fault for one request, consuming a method fault's count.
func (f *faults) decide(target, method string) (latency time.Duration, mode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sets[target]
	latency = time.Duration(s.LatencyMs) * time.Millisecond
	switch {
	case time.Now().Before(s.OutageUntil):
		mode = "drop"
	case s.Methods[method] != nil && s.Methods[method].Times > 0:
		s.Methods[method].Times--
		mode = s.Methods[method].Mode
	case s.ErrorRate > 0 && f.rng.Float64() < s.ErrorRate:
		mode = "transport"
	}
	if mode != "" {
		f.injected[target+":"+method+":"+mode]++
	}
	return latency, mode
}

// middleware injects faults in front of a handler. The JSON-RPC method is read from the body
// (and the body restored); stream uploads are keyed "push".
func (f *faults) middleware(target string, next http.Handler, p *Peer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := "push"
		if !strings.Contains(r.URL.Path, "/streams/") && r.Method == http.MethodPost {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			var env struct {
				Method string `json:"method"`
			}
			_ = json.Unmarshal(body, &env)
			method = strings.TrimPrefix(env.Method, "Filecoin.")
		}
		latency, mode := f.decide(target, method)
		if latency > 0 {
			select {
			case <-time.After(latency):
			case <-r.Context().Done():
				return
			}
		}
		switch mode {
		case "transport":
			http.Error(w, "lotus-peer: injected transport fault", http.StatusServiceUnavailable)
		case "drop":
			dropConn(w)
		case "rpc":
			var env struct {
				ID json.RawMessage `json:"id"`
			}
			body, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(body, &env)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]interface{}{"jsonrpc": "2.0", "id": env.ID,
				"error": map[string]interface{}{"code": 1, "message": "lotus-peer: injected error for " + method}})
		case "after":
			rec := &discardWriter{header: http.Header{}}
			next.ServeHTTP(rec, r)
			dropConn(w)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func dropConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST: the client sees a reset, like a node that went away
		}
		_ = conn.Close()
	}
}

type discardWriter struct {
	header http.Header
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

var _ = bufio.NewReader
