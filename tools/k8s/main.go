// Command testplane is a multi-call binary holding a real Kubernetes control plane for dealyard's
// tests and local demo: kube-apiserver, kube-controller-manager and kubectl built from the upstream
// modules at one version, plus an embedded etcd and an `up` launcher that wires them on loopback.
package main

import (
	"fmt"
	"os"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectl "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"

	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

const usage = `usage: testplane <command> [flags]

commands:
  up                       start etcd + kube-apiserver (+ kube-controller-manager) on loopback
  kube-apiserver           the upstream kube-apiserver command
  kube-controller-manager  the upstream kube-controller-manager command
  kubectl                  the upstream kubectl command
  version                  print the Kubernetes version this binary was built from
`

// Set with -ldflags -X main.gitVersion=...; mirrors k8s.io/component-base/version.gitVersion.
var gitVersion = "unknown"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	name := os.Args[1]
	// Each upstream command parses os.Args[1:] through cobra; drop our sub-command word first.
	os.Args = append([]string{name}, os.Args[2:]...)
	switch name {
	case "up":
		os.Exit(runUp(os.Args[1:]))
	case "kube-apiserver":
		os.Exit(cli.Run(apiserver.NewAPIServerCommand()))
	case "kube-controller-manager":
		os.Exit(cli.Run(kcm.NewControllerManagerCommand()))
	case "kubectl":
		logs.GlogSetter(kubectl.GetLogVerbosity(os.Args)) // nolint:errcheck
		if err := cli.RunNoErrOutput(kubectl.NewDefaultKubectlCommand()); err != nil {
			kubectlutil.CheckErr(err)
		}
	case "version":
		fmt.Println(gitVersion)
	default:
		fmt.Fprintf(os.Stderr, "testplane: unknown command %q\n%s", name, usage)
		os.Exit(2)
	}
}
