module berth.dev/cmd/berth

go 1.26.8
