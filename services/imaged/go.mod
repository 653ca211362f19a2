module berth.dev/services/imaged

go 1.26.8
