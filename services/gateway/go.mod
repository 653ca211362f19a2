module berth.dev/services/gateway

go 1.26.8
