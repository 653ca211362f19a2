module berth.dev/test/e2e

go 1.26.8
