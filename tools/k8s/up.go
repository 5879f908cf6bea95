package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// The controllers the deal engine relies on: Jobs run transfers, the garbage collector honours owner
// references, TTL and pod GC clean up, and the namespace controller lets test namespaces really go
// away. node-lifecycle stays off: our nodes send no heartbeats and would be tainted.
const kcmControllers = "job-controller,garbage-collector-controller,ttl-after-finished-controller," +
	"pod-garbage-collector-controller,namespace-controller"

type readyInfo struct {
	Server       string `json:"server"`
	Kubeconfig   string `json:"kubeconfig"`
	Token        string `json:"token"`
	CAFile       string `json:"caFile"`
	Etcd         string `json:"etcd"`
	Version      string `json:"version"`
	Pid          int    `json:"pid"`
	APIServerPid int    `json:"apiserverPid"`
	KCMPid       int    `json:"kcmPid,omitempty"`
	StartupMs    int64  `json:"startupMs"`
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func runUp(args []string) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	dir := fs.String("dir", "", "working directory for certs, etcd data, logs and ready.json (required)")
	withKCM := fs.Bool("kcm", false, "also start kube-controller-manager with the Job/GC/TTL/pod-GC/namespace controllers")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for the control plane to become ready")
	watchStdin := fs.Bool("exit-on-stdin-close", false, "shut down when stdin closes (the parent process died)")
	keep := fs.Bool("keep-dir", false, "leave the working directory in place on shutdown")
	var extra multiFlag
	fs.Var(&extra, "apiserver-arg", "extra kube-apiserver flag (repeatable), e.g. --apiserver-arg=--watch-cache-sizes=configmaps#0")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "up: --dir is required")
		return 2
	}
	start := time.Now()
	p, err := startPlane(*dir, *withKCM, *timeout, start, extra)
	if err != nil {
		fmt.Fprintf(os.Stderr, "up: %v\n", err)
		if p != nil {
			p.stop(*keep)
		}
		return 1
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	stdinClosed := make(chan struct{})
	if *watchStdin {
		go func() { io.Copy(io.Discard, os.Stdin); close(stdinClosed) }()
	}
	select {
	case <-sig:
	case <-stdinClosed:
	case err := <-p.died:
		fmt.Fprintf(os.Stderr, "up: %v\n", err)
		p.stop(*keep)
		return 1
	}
	p.stop(*keep)
	return 0
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type plane struct {
	dir        string
	etcd       *embed.Etcd
	apiserver  *exec.Cmd
	kcm        *exec.Cmd
	died       chan error
	stopping   bool
}

func (p *plane) spawn(name string, args ...string) (*exec.Cmd, error) {
	logf, err := os.Create(filepath.Join(p.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append([]string{name}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// If `up` itself is killed with SIGKILL the children must not outlive it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		err := cmd.Wait()
		logf.Close()
		if !p.stopping {
			p.died <- fmt.Errorf("%s exited unexpectedly (%v); log: %s", name, err, logf.Name())
		}
	}()
	return cmd, nil
}

func startPlane(dir string, withKCM bool, timeout time.Duration, start time.Time, extra []string) (*plane, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &plane{dir: dir, died: make(chan error, 2)}
	etcdURL, err := p.startEtcd()
	if err != nil {
		return p, fmt.Errorf("etcd: %w", err)
	}
	keys, err := makePKI(dir)
	if err != nil {
		return p, fmt.Errorf("pki: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return p, err
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", port)
	args := []string{"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", port),
		"--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
		"--cert-dir="+dir, "--tls-cert-file="+keys.ServingCert, "--tls-private-key-file="+keys.ServingKey,
		"--client-ca-file="+keys.CAFile, "--token-auth-file="+keys.TokenFile,
		"--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true",
		"--authorization-mode=RBAC", "--disable-admission-plugins=ServiceAccount",
		"--service-account-issuer="+server,
		"--service-account-key-file="+keys.SAPub, "--service-account-signing-key-file="+keys.SAKey,
	}
	p.apiserver, err = p.spawn("kube-apiserver", append(args, extra...)...)
	if err != nil {
		return p, err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(kubeconfig, server, keys); err != nil {
		return p, err
	}
	client := httpsClient(keys)
	deadline := time.Now().Add(timeout)
	for _, path := range []string{"/readyz", "/api/v1/namespaces/default"} {
		if err := waitOK(client, server+path, keys.AdminToken, deadline, p.died); err != nil {
			return p, fmt.Errorf("kube-apiserver %s: %w\n%s", path, err, tail(filepath.Join(dir, "kube-apiserver.log"), 50))
		}
	}
	info := readyInfo{Server: server, Kubeconfig: kubeconfig, Token: keys.AdminToken, CAFile: keys.CAFile,
		Etcd: etcdURL, Version: gitVersion, Pid: os.Getpid(), APIServerPid: p.apiserver.Process.Pid}
	if withKCM {
		p.kcm, err = p.spawn("kube-controller-manager",
			"--kubeconfig="+kubeconfig, "--controllers="+kcmControllers,
			"--leader-elect=false", "--secure-port=0", "--kube-api-qps=100", "--kube-api-burst=200")
		if err != nil {
			return p, err
		}
		info.KCMPid = p.kcm.Process.Pid
	}
	info.StartupMs = time.Since(start).Milliseconds()
	b, _ := json.MarshalIndent(info, "", "  ")
	tmp := filepath.Join(dir, "ready.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return p, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "ready.json")); err != nil {
		return p, err
	}
	fmt.Printf("ready %s (kube-apiserver %s, %d ms)\n", filepath.Join(dir, "ready.json"), gitVersion, info.StartupMs)
	return p, nil
}

func (p *plane) startEtcd() (string, error) {
	cport, err := freePort()
	if err != nil {
		return "", err
	}
	pport, err := freePort()
	if err != nil {
		return "", err
	}
	cu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", cport))
	pu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", pport))
	cfg := embed.NewConfig()
	cfg.Name = "testplane"
	cfg.Dir = filepath.Join(p.dir, "etcd")
	// Test data is thrown away at the end of the run; fsync only costs time.
	cfg.UnsafeNoFsync = true
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return "", err
	}
	p.etcd = e
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		return "", fmt.Errorf("not ready after 60s")
	}
	return cu.String(), nil
}

func (p *plane) stop(keep bool) {
	p.stopping = true
	for _, c := range []*exec.Cmd{p.kcm, p.apiserver} {
		if c == nil || c.Process == nil {
			continue
		}
		c.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { for c.ProcessState == nil { time.Sleep(50 * time.Millisecond) }; close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.Process.Kill()
		}
	}
	if p.etcd != nil {
		p.etcd.Close()
	}
	if !keep {
		os.RemoveAll(p.dir)
	}
}

func httpsClient(k *pki) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(k.caPEM)
	return &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func waitOK(c *http.Client, u, token string, deadline time.Time, died <-chan error) error {
	var last string
	for time.Now().Before(deadline) {
		select {
		case err := <-died:
			return err
		default:
		}
		req, _ := http.NewRequestWithContext(context.Background(), "GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready before the deadline; last answer: %s", last)
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

func writeKubeconfig(path, server string, k *pki) error {
	b64 := base64.StdEncoding.EncodeToString
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: testplane
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: testplane
  context:
    cluster: testplane
    user: admin
    namespace: default
current-context: testplane
`, server, b64(k.caPEM), b64(k.adminCertPEM), b64(k.adminKeyPEM))
	return os.WriteFile(path, []byte(cfg), 0o600)
}
