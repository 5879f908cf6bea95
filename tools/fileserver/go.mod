module dealyard.dev/tools/fileserver

go 1.26
