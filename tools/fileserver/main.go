// fileserver serves one file over HTTP/1.1 the way production data sources do (Go's net/http
// ServeContent: Range, If-Range, a strong ETag, and sendfile(2) from the page cache), for the
// transfer benchmark. It prints the port it listens on, then serves until killed.
//
//	fileserver -file <path> [-addr 127.0.0.1:0]
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
)

func main() {
	file := flag.String("file", "", "the file to serve at every path")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	st, err := os.Stat(*file)
	if err != nil {
		log.Fatal(err)
	}
	etag := fmt.Sprintf(`"%x-%x"`, st.Size(), st.ModTime().UnixNano())
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(*file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		w.Header().Set("ETag", etag)
		http.ServeContent(w, r, "", st.ModTime(), f)
	})))
}
