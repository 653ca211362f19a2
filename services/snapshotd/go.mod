module berth.dev/services/snapshotd

go 1.26.8
